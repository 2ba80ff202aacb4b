"""Run a `pybpf run trace_exec -o json` command while execs with a unique tag happen.

Shared by the tests that check the main job under adverse conditions (a
forged cache, a host without tracefs): output goes to files, so a busy
machine's other execs cannot fill a pipe and stall the gadget.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from typing import List, Sequence, Tuple

ECHO = shutil.which("echo") or "/bin/echo"


def exec_events(argv: Sequence[str], deadline: float = 90, **popen) -> Tuple[str, List[dict], str, int]:
    """(tag, events whose line has the tag, stderr, exit status) of ``argv``, which must
    end by itself (``--timeout``); ``echo TAG`` runs every 0.3 s until it does."""
    tag = f"pybpf-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, text=True, **popen)
        try:
            end = time.monotonic() + deadline
            while proc.poll() is None and time.monotonic() < end:
                subprocess.run([ECHO, tag], stdout=subprocess.DEVNULL)
                time.sleep(0.3)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        out.seek(0)
        err.seek(0)
        events = [json.loads(line) for line in out if tag in line]
        return tag, events, err.read(), proc.returncode
