"""Pin a map on bpffs so it outlives the process, then reopen it, typed, by its path.

Run as root: python3 examples/pinning.py
"""
import os
from pathlib import Path

import pybpf
from pybpf.maps import Map

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

PIN_DIR = f"/sys/fs/bpf/pybpf-example-{os.getpid()}"

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
spec.constants["targ_tgid"] = os.getpid()
os.mkdir(PIN_DIR)
try:
    with pybpf.load(spec) as coll:
        with coll.attach_all():
            open("/etc/hostname").close()
        coll.maps["opens"].pin(f"{PIN_DIR}/opens")
        coll.programs["trace_openat"].pin(f"{PIN_DIR}/trace_openat")
    # the collection is closed; the pins keep the map and program alive.
    # Another process (here the same one) opens the map by its path:
    with Map.from_pin(f"{PIN_DIR}/opens") as opens:
        # typed from the BTF the kernel kept for the map (it was created with BTF)
        for key, stats in opens.items():
            print("from the pin:", key, stats)
            assert key["tgid"] == os.getpid() and stats["opens"] >= 1
        print("as bytes:", [k.hex() for k in opens.raw])
        opens.unpin()  # removes the path; the map goes when the last fd closes
finally:
    for name in ("opens", "trace_openat"):
        if os.path.exists(f"{PIN_DIR}/{name}"):
            os.unlink(f"{PIN_DIR}/{name}")
    os.rmdir(PIN_DIR)
