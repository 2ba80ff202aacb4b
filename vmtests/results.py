"""Per-kernel results: counts from pytest's junit xml, and the summary table."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    @classmethod
    def from_junit(cls, path: Path) -> Optional["Counts"]:
        """Totals of every <testsuite> in a pytest junit xml, None if unreadable."""
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            return None
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        counts = cls()
        for suite in suites:
            tests = int(suite.get("tests", 0))
            failed = int(suite.get("failures", 0))
            errors = int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            counts.failed += failed
            counts.errors += errors
            counts.skipped += skipped
            counts.passed += tests - failed - errors - skipped
        return counts


@dataclass
class KernelResult:
    """One kernel's line in the summary."""

    name: str
    release: str = ""
    status: str = "not-run"
    counts: Optional[Counts] = None
    boot_s: Optional[float] = None
    run_s: Optional[float] = None
    total_s: float = 0.0
    attempts: int = 0
    detail: str = ""
    logs: Optional[Path] = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _secs(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}s"


def table(results: List[KernelResult]) -> str:
    header = ("kernel", "release", "passed", "failed", "skipped", "boot", "run", "total",
              "result")
    rows = [header]
    for r in results:
        c = r.counts
        status = r.status if r.attempts <= 1 else f"{r.status} ({r.attempts} boots)"
        rows.append((
            r.name, r.release or "-",
            str(c.passed) if c else "-",
            str(c.failed + c.errors) if c else "-",
            str(c.skipped) if c else "-",
            _secs(r.boot_s), _secs(r.run_s), _secs(r.total_s), status,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6, 7}
    lines = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def closing_line(results: List[KernelResult]) -> str:
    """Totals over every kernel as one line in pytest's wording (CI reads it)."""
    total = Counts()
    for r in results:
        if r.counts:
            total.passed += r.counts.passed
            total.failed += r.counts.failed + r.counts.errors
            total.skipped += r.counts.skipped
    return f"vmtests: {total.passed} passed, {total.failed} failed, {total.skipped} skipped"
