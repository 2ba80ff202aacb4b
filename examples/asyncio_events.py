"""Read ring buffer records from asyncio with `async for`.

Run as root: python3 examples/asyncio_events.py
"""
import asyncio
import os
from pathlib import Path

import pybpf
from pybpf.btf.codec import codec_for_name

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
spec.constants["targ_tgid"] = os.getpid()
event = codec_for_name(spec.btf, "open_event")


async def etc_paths(reader, count):
    paths = []
    async for record in reader:  # waits on the loop, no thread
        path = event.decode(record)["path"]
        if path.startswith("/etc/"):  # (Python itself opens files too)
            paths.append(path)
        if len(paths) == count:
            return paths


async def trigger():
    for name in ("/etc/hostname", "/etc/passwd"):
        await asyncio.sleep(0.1)
        open(name).close()


async def main():
    with pybpf.load(spec) as coll, coll.attach_all():
        with pybpf.RingBufReader(coll.maps["events"]) as reader:
            paths, _ = await asyncio.wait_for(
                asyncio.gather(etc_paths(reader, 2), trigger()), timeout=10)
    print("async paths:", paths)
    assert paths == ["/etc/hostname", "/etc/passwd"]

asyncio.run(main())
