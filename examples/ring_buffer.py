"""Read a BPF ring buffer as typed records, variable-length tails included.

The program sends `struct open_event` up to the end of the path only, so most
records are shorter than the struct: the codec decodes them up to their length.
Run as root: python3 examples/ring_buffer.py
"""
import os
from pathlib import Path

import pybpf
from pybpf.btf.codec import codec_for_name

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
spec.constants["targ_tgid"] = os.getpid()
event = codec_for_name(spec.btf, "open_event")  # the struct, from the object's BTF

with pybpf.load(spec) as coll, coll.attach_all():
    with pybpf.RingBufReader(coll.maps["events"]) as reader:
        open("/etc/hostname").close()
        open("/etc/passwd").close()

        # 1. a batch: every record waiting (bytes you keep), up to 1 s for the first
        for record in reader.read_batch(timeout=1):
            ev = event.decode(record)
            print(f"{len(record):3} of {event.size} bytes: {ev['comm']} {ev['pid']} {ev['path']}")

        # 2. a callback per record (a memoryview into the ring, valid during the call)
        open("/etc/hostname").close()
        seen = []
        reader.poll(lambda rec: seen.append(event.decode(rec)["path"]), timeout=1)
        print("poll:", seen)
        assert "/etc/hostname" in seen

        # 3. an iterator that waits for records (stop with break)
        open("/etc/passwd").close()
        for record in reader:
            if event.decode(record)["path"] == "/etc/passwd":
                print("iterator: /etc/passwd")
                break
