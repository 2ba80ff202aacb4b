"""Load an object: set a constant, resize maps, then look at what was loaded.

Run as root: python3 examples/load_and_constants.py
"""
import os
from pathlib import Path

import pybpf

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")  # parse only
print("programs:", sorted(spec.programs), "maps:", sorted(spec.maps))

spec.constants["targ_tgid"] = os.getpid()      # a `const volatile` in .rodata
spec.maps["events"].max_entries = 1 << 20       # ring buffer: 1 MiB
spec.maps["opens"].max_entries = 4096           # hash: room for 4096 processes

with pybpf.load(spec) as coll:                  # maps, CO-RE, programs
    events, opens = coll.maps["events"], coll.maps["opens"]
    print(events, "max_entries", events.max_entries)
    print(opens, "max_entries", opens.max_entries, "kernel id", opens.id)
    print("targ_tgid in the kernel:", coll.maps[".rodata"][0]["targ_tgid"])
    assert coll.maps[".rodata"][0]["targ_tgid"] == os.getpid()
    assert events.max_entries == 1 << 20 and opens.max_entries == 4096
