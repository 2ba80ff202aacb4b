"""`pybpf list`: every gadget, one line each, and whether it can run here."""
from __future__ import annotations

import argparse
import json
from typing import Any


def list_gadgets(args: argparse.Namespace) -> int:
    from .. import registry

    rows = []
    for g in registry.all_gadgets():
        ok, why = g.can_run()
        rows.append((g, ok, why))
    broken = registry.import_errors()
    if args.output == "json":
        for g, ok, why in rows:
            print(json.dumps({"name": g.name, "category": g.category, "description": g.description,
                              "can_run": ok, "reason": why}))
        for name, why in broken.items():
            print(json.dumps({"name": name, "category": "", "description": "",
                              "can_run": False, "reason": f"cannot import: {why}"}))
        return 0
    width = max([len(g.name) for g, _, _ in rows] + [len(n) for n in broken] + [6])
    print(f"{'GADGET':<{width}}  {'CATEGORY':<8}  {'RUNS':<4}  DESCRIPTION")
    for g, ok, why in rows:
        status = "yes" if ok else "no"
        tail = g.description if ok else f"{g.description} -- cannot run: {why}"
        print(f"{g.name:<{width}}  {g.category:<8}  {status:<4}  {tail}")
    for name, why in broken.items():
        print(f"{name:<{width}}  {'?':<8}  {'no':<4}  cannot import: {why.splitlines()[0]}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("list", help="list the gadgets and whether each can run here")
    p.add_argument("-o", "--output", choices=("columns", "json"), default="columns")
    p.set_defaults(func=list_gadgets)
