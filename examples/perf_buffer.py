"""Read a perf event array (one ring per CPU) as typed, variable-length records.

Run as root: python3 examples/perf_buffer.py
"""
import os
from pathlib import Path

import pybpf
from pybpf.btf.codec import codec_for_name

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
spec.constants["targ_tgid"] = os.getpid()
event = codec_for_name(spec.btf, "open_event")

with pybpf.load(spec) as coll, coll.attach_all():
    # 8 pages per CPU; wake up on every sample (watermark=1)
    with pybpf.PerfReader(coll.maps["perf_events"], pages=8) as reader:
        open("/etc/hostname").close()
        paths = []
        for record in reader.read_batch(timeout=1):
            ev = event.decode(record)  # perf pads a record to 8 bytes: still short
            paths.append(ev["path"])
            print(f"{len(record):3} bytes on one of CPUs {reader.cpus}: {ev['path']}")
        print("samples lost (ring full):", reader.lost)
        assert "/etc/hostname" in paths
