"""`pybpf explain OBJ [--btf PATH] [-o json]`: what CO-RE does to an object
(a file, or an installed gadget's: `pybpf explain trace_exec`).

Prints one row per CO-RE relocation: program, instruction, kind, the local
accessor spelled out, the candidates considered, the chosen target and the
value patched in (or why the instruction is poisoned).
"""
from __future__ import annotations

import argparse
import json


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = subparsers.add_parser("explain", help="show how CO-RE relocates an object",
                              description=__doc__.splitlines()[0])
    p.add_argument("obj", help="BPF object file (.bpf.o), or a gadget name (trace_exec)")
    p.add_argument("--btf", help="target BTF (raw BTF or ELF with .BTF); default: this kernel")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list every candidate and why it did (not) match")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pybpf.core import explain, format_explanations

    from .objects import object_spec
    results = explain(object_spec(args.obj), btf=args.btf)
    if args.output == "json":
        print(json.dumps([r.to_dict() for r in results], indent=2))
    elif results:
        print(format_explanations(results, verbose=args.verbose))
    else:
        print(f"{args.obj}: no CO-RE relocations")
    return 1 if any(r.error for r in results) else 0
