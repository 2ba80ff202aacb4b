"""Maps typed from BTF: lookup, update, iterate, batch, per-CPU, and raw bytes.

`opens` is a hash from struct proc_key {tgid, comm} to struct open_stats
{opens, path_bytes}; `totals` a per-CPU array of struct open_stats.
Run as root: python3 examples/typed_maps.py
"""
import os
from pathlib import Path

import pybpf

OBJECTS = Path(__file__).resolve().parents[1] / "bpf" / "objects"  # in the repository

spec = pybpf.ObjectSpec.from_file(OBJECTS / "guide.bpf.o")
spec.constants["targ_tgid"] = os.getpid()

with pybpf.load(spec) as coll:
    with coll.attach_all():
        for _ in range(3):
            open("/etc/hostname").close()
    opens, totals = coll.maps["opens"], coll.maps["totals"]

    # iterate: keys and values are dicts by member name, char arrays are str
    for key, stats in opens.items():
        print(f"{key['comm']} ({key['tgid']}): {stats['opens']} opens")
    mine = next(k for k in opens if k["tgid"] == os.getpid())
    assert opens[mine]["opens"] >= 3

    # update and lookup with the same shapes (missing members are zero)
    fake = {"tgid": 1, "comm": "example"}
    opens[fake] = {"opens": 41}
    print("lookup:", opens.lookup(fake), "absent:", opens.lookup({"tgid": 2}))
    assert opens[fake] == {"opens": 41, "path_bytes": 0}

    # batch operations (one bpf() call for many elements where the kernel can)
    opens.update_batch([({"tgid": 100 + i, "comm": "batch"}, {"opens": i}) for i in range(4)])
    print("lookup_batch:", len(opens.lookup_batch()), "elements")
    assert opens.delete_batch([{"tgid": 100 + i, "comm": "batch"} for i in range(4)]) == 4

    # per-CPU: one value per possible CPU
    per_cpu = totals[0]
    print("totals per CPU:", per_cpu)
    print("total opens:", sum(v["opens"] for v in per_cpu))

    # raw bytes, one attribute away (same map, same fd)
    raw_key, raw_value = next(iter(opens.raw.items()))
    print("raw:", raw_key.hex(), raw_value.hex())
    assert opens.key_codec.decode(raw_key) in list(opens)

    # global data: the .bss section as a dict of variables
    print(".bss:", coll.maps[".bss"][0])
