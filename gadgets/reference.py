"""The options and fields of every gadget as Markdown, from their declarations.

``python -m pybpf_gadgets.reference`` prints it for every installed gadget
(ours and other packages'); ``--write docs/GADGETS.md`` replaces the part of
that file between the reference markers with the reference of this
package's gadgets, and ``--check`` exits 1 when that part is stale.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence

from . import registry
from .common.gadget import COMMON_FIELDS, Field, Gadget, Param
from .common.options import DISPLAY_OPTIONS, SESSION_OPTIONS, Option

BEGIN = ("<!-- reference:begin (generated: "
         "python -m pybpf_gadgets.reference --write docs/GADGETS.md) -->")
END = "<!-- reference:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type_name(t: Any) -> str:
    return getattr(t, "__name__", str(t))


def _field_rows(fields: Sequence[Field]) -> List[str]:
    rows = ["| field | type | column | meaning |", "|---|---|---|---|"]
    for f in fields:
        shown = f.title if f.column else ""
        rows.append(f"| `{f.name}` | {_type_name(f.type)} | {_cell(shown)} | {_cell(f.help)} |")
    return rows


def _value_of(parse: Any, switch: bool) -> str:
    return "switch" if switch else getattr(parse, "__name__", "value")


def _option_rows(options: Sequence[Option]) -> List[str]:
    rows = ["| option | value | meaning |", "|---|---|---|"]
    for o in options:
        names = f"`{o.short}`, `{o.option}`" if o.short else f"`{o.option}`"
        only = f" ({', '.join(o.categories)} gadgets)" if o.categories else ""
        value = _value_of(o.parse, o.switch) + (", repeatable" if o.repeat else "")
        rows.append(f"| {names} | {value} | {_cell(o.help)}{only} |")
    return rows


def _param_rows(params: Sequence[Param]) -> List[str]:
    rows = ["| option | value | default | meaning |", "|---|---|---|---|"]
    for p in params:
        default = "" if p.default in (None, False, "") else f"`{p.default}`"
        names = ", ".join(f"`{o}`" for o in p.options)
        rows.append(f"| {names} | {_value_of(p.parse, p.is_switch)} | {default} "
                    f"| {_cell(p.help)} |")
    return rows


def gadget_section(gadget: Gadget) -> List[str]:
    lines = [f"### {gadget.name}: options and fields ({gadget.category})", "",
             _cell(gadget.description) + ".", ""]
    extra = sorted(o for o in gadget.outputs if o != "columns")
    if extra:
        lines += ["Outputs besides columns and json: "
                  + ", ".join(f"`-o {o}`" for o in extra) + ".", ""]
    if gadget.params:
        lines += _param_rows(gadget.params) + [""]
    own = [f for f in gadget.fields]
    if own:
        lines += _field_rows(own) + [""]
    else:
        lines += ["Fields: the common ones only.", ""]
    return lines


def markdown(gadgets: Sequence[Gadget]) -> str:
    lines = [
        "Generated from the gadget declarations (`GADGET = Gadget(...)` in each module);",
        "`column` is the header of a field shown by default.",
        "",
        "### Options of every gadget",
        "",
        "Besides `-o` (columns, json, jsonpretty, yaml, and what a gadget adds) and",
        "`--fields` (names to show, or changes to the default: `+timestamp,-args`):",
        "",
        *_option_rows(SESSION_OPTIONS),
        "",
        "### How `pybpf run` shows a session",
        "",
        *_option_rows(DISPLAY_OPTIONS),
        "",
        "### Fields of every event or row",
        "",
        "Top, profile and snapshot rows also carry the `timestamp` they were read at.",
        "",
        *_field_rows(COMMON_FIELDS),
        "",
    ]
    for gadget in gadgets:
        lines += gadget_section(gadget)
    return "\n".join(lines).rstrip() + "\n"


def ours() -> List[Gadget]:
    """This package's gadgets (not other packages' registered ones), by category and name."""
    mine = {name for name, ep in registry.entries().items()
            if ep.value.startswith(__package__ + ".")}
    return [g for g in registry.all_gadgets() if g.name in mine]


def replaced(document: str, reference: str) -> str:
    """``document`` with the text between the markers replaced by ``reference``."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the reference markers are missing ({BEGIN} ... {END})")
    return document[: start + len(BEGIN)] + "\n" + reference + document[end:]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pybpf_gadgets.reference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", metavar="FILE", help="update FILE between the markers")
    parser.add_argument("--check", metavar="FILE", help="exit 1 when FILE is stale")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        sys.stdout.write(markdown(registry.all_gadgets()))
        return 0
    path = Path(args.write or args.check)
    document = path.read_text()
    fresh = replaced(document, markdown(ours()))
    if args.check:
        if fresh != document:
            print(f"{path} is stale: python -m pybpf_gadgets.reference --write {path}",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
