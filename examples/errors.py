"""What goes wrong, and how it is reported: every pybpf error is a BPFError.

Run as root: python3 examples/errors.py
"""
import os
from pathlib import Path

import pybpf
from pybpf.errors import BPFError, ELFError, NotFoundError, VerifierError

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

try:  # not a BPF object
    pybpf.ObjectSpec.from_file(os.__file__)
except ELFError as exc:
    print("ELFError:", exc)

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
try:  # a constant the object does not have
    spec.constants["no_such_constant"] = 1
except KeyError as exc:  # UnknownVariableError is a BPFError and a KeyError
    print(type(exc).__name__ + ":", exc)
    assert isinstance(exc, BPFError)

try:  # the verifier refuses a program: the error has the program and its log
    pybpf.load(OBJECTS / "loader_reject.bpf.o")
except VerifierError as exc:
    print("VerifierError:", exc.summary())
    print("  program", exc.program, "log lines", len(exc.log.splitlines()))

try:  # a pin that does not exist
    pybpf.Map.from_pin("/sys/fs/bpf/pybpf-example-no-such-pin")
except NotFoundError as exc:
    print("NotFoundError:", exc)

with pybpf.load(spec) as coll:
    opens = coll.maps["opens"]
    try:  # a key of the wrong shape: a Python TypeError/ValueError, nothing written
        opens[42] = {"opens": 1}
    except TypeError as exc:
        print("TypeError:", exc)
    try:
        opens[{"tgid": -1, "comm": "x"}] = {"opens": 1}
    except ValueError as exc:
        print("ValueError:", exc)
    assert len(opens) == 0
