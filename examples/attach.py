"""Attach programs: all of them from their SEC() names, or one by one.

Run as root: python3 examples/attach.py
"""
import os
from importlib.resources import files

import pybpf
from pybpf.links import attach, attach_tracepoint

spec = pybpf.ObjectSpec.from_file(files("pybpf.objects") / "guide.bpf.o")
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
