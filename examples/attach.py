"""Attach programs: all of them from their SEC() names, or one by one.

Run as root: python3 examples/attach.py
"""
import os
from pathlib import Path

import pybpf
from pybpf.links import attach, attach_tracepoint

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
spec.constants["targ_tgid"] = os.getpid()

with pybpf.load(spec) as coll:
    prog = coll.programs["trace_openat"]
    # every program whose SEC() says where it goes; detached when the block ends
    with coll.attach_all():
        open("/etc/hostname").close()
    # one program, the hook read from its SEC() name ...
    with attach(prog):
        open("/etc/hostname").close()
    # ... or given explicitly
    with attach_tracepoint(prog, "syscalls", "sys_enter_openat"):
        open("/etc/hostname").close()
    open("/etc/hostname").close()  # detached: not counted
    sent = coll.maps[".bss"][0]["sent"]
    print("events sent:", sent)
    assert sent == 3
