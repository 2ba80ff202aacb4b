"""Typed maps and records on the real kernel: a loaded object's maps decode and
encode their BTF key/value types (hash with struct key and value, per-CPU
array, global data), batch operations and iteration included, ``Map.raw``
gives bytes; ring and perf records shorter than their struct decode.

Object: bpf/objects/guide.bpf.o (bpf/tests/guide.bpf.c), filtered to this
process, triggered by openat() of unique paths.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

import pybpf
from pybpf.btf.codec import codec_for_name
from pybpf.maps import Map
from pybpf.sys.cpus import num_possible_cpus

OBJ = Path(__file__).resolve().parents[2] / "bpf" / "objects" / "guide.bpf.o"


@pytest.fixture
def loaded():
    spec = pybpf.ObjectSpec.from_file(OBJ)
    spec.constants["targ_tgid"] = os.getpid()
    with pybpf.load(spec) as coll:
        yield spec, coll


def make_paths(tmp_path, count: int) -> list:
    paths = []
    for i in range(count):
        path = tmp_path / f"typed-{os.getpid()}-{i}-{'x' * i}"
        path.write_bytes(b"")
        paths.append(str(path))
    return paths


def open_all(paths: list) -> None:
    for path in paths:
        os.close(os.open(path, os.O_RDONLY))


def open_paths(tmp_path, count: int) -> list:
    paths = make_paths(tmp_path, count)
    open_all(paths)
    return paths


def test_hash_with_struct_key_and_value(loaded, tmp_path):
    spec, coll = loaded
    with coll.attach_all():
        open_paths(tmp_path, 3)
    opens = coll.maps["opens"]
    items = list(opens.items())
    assert len(items) == 1
    key, value = items[0]
    assert key == {"tgid": os.getpid(), "comm": key["comm"]} and key["comm"]
    assert isinstance(key["comm"], str) and value["opens"] >= 3 and value["path_bytes"] > 0
    assert opens[key] == value and key in opens
    assert list(opens) == [key] and list(opens.values()) == [value]
    # the same element, raw: the codecs' bytes
    raw_key, raw_value = list(opens.raw.items())[0]
    assert raw_key == opens.key_codec.encode(key) and len(raw_value) == 16
    assert struct.unpack("<QQ", raw_value) == (value["opens"], value["path_bytes"])
    assert opens.raw[raw_key] == raw_value


def test_typed_update_batch_and_delete(loaded):
    _, coll = loaded
    opens = coll.maps["opens"]
    keys = [{"tgid": 0x7FFF0000 + i, "comm": f"fake{i}"} for i in range(5)]
    opens[keys[0]] = {"opens": 7}
    assert opens[keys[0]] == {"opens": 7, "path_bytes": 0}
    assert opens.update_batch([(k, {"opens": i, "path_bytes": 10 * i})
                               for i, k in enumerate(keys)]) == 5
    got = {k["tgid"]: v for k, v in opens.lookup_batch(batch_size=2)}
    assert got == {0x7FFF0000 + i: {"opens": i, "path_bytes": 10 * i} for i in range(5)}
    assert opens.delete_batch(keys[:2]) == 2
    drained = opens.lookup_and_delete_batch()
    assert sorted(k["comm"] for k, _ in drained) == ["fake2", "fake3", "fake4"]
    assert len(opens) == 0
    # bytes are still taken as the raw element
    opens[opens.key_codec.encode(keys[0])] = struct.pack("<QQ", 1, 2)
    assert opens[keys[0]] == {"opens": 1, "path_bytes": 2}


def test_per_cpu_array_is_a_list_per_cpu(loaded, tmp_path):
    _, coll = loaded
    with coll.attach_all():
        open_paths(tmp_path, 4)
    totals = coll.maps["totals"]
    per_cpu = totals[0]
    assert isinstance(per_cpu, list) and len(per_cpu) == num_possible_cpus()
    assert all(set(v) == {"opens", "path_bytes"} for v in per_cpu)
    (stats,) = coll.maps["opens"].values()
    assert sum(v["opens"] for v in per_cpu) == stats["opens"]
    assert sum(v["path_bytes"] for v in per_cpu) == stats["path_bytes"]
    assert [(k, len(v)) for k, v in totals.items()] == [(0, num_possible_cpus())]
    totals[0] = [{"opens": cpu} for cpu in range(num_possible_cpus())]
    assert [v["opens"] for v in totals[0]] == list(range(num_possible_cpus()))
    with pytest.raises(ValueError, match="one per possible CPU"):
        totals[0] = {"opens": 1}


def test_global_data_is_a_dict_of_variables(loaded, tmp_path):
    _, coll = loaded
    with coll.attach_all():
        open_paths(tmp_path, 2)
    bss = coll.maps[".bss"][0]
    assert set(bss) == {"sent", "event_type"} and bss["sent"] >= 2
    (stats,) = coll.maps["opens"].values()
    assert bss["sent"] == stats["opens"]


def test_wrong_shapes_are_refused(loaded):
    _, coll = loaded
    opens = coll.maps["opens"]
    with pytest.raises(TypeError, match="proc_key: encoding needs a dict"):
        opens[5] = {"opens": 1}
    with pytest.raises(ValueError, match="cannot encode"):
        opens[{"tgid": -1}] = {"opens": 1}
    with pytest.raises(ValueError, match="is 3 bytes, expected 20"):
        opens[b"abc"] = bytes(16)


def test_raw_view_shares_the_fd(loaded):
    _, coll = loaded
    opens = coll.maps["opens"]
    raw = opens.raw
    assert raw.raw is raw and opens.raw is raw and raw.key_codec is None
    with raw:
        pass
    assert not opens.closed and raw.fileno() == opens.fileno()


def test_pinned_map_typed_from_the_kernels_btf(loaded, pin_dir):
    spec, coll = loaded
    coll.maps["opens"][{"tgid": 1, "comm": "pinned"}] = {"opens": 3, "path_bytes": 4}
    coll.maps["opens"].pin(pin_dir / "opens")
    expected = [({"tgid": 1, "comm": "pinned"}, {"opens": 3, "path_bytes": 4})]
    with Map.from_pin(pin_dir / "opens") as again:
        assert list(again.items()) == expected
        assert again.key_codec.name == "proc_key" and again.value_codec.name == "open_stats"
    with Map.from_id(coll.maps[".bss"].id) as bss:
        assert set(bss[0]) == {"sent", "event_type"}
    with Map.from_pin(pin_dir / "opens") as again:  # explicit types replace the kernel's
        ms = spec.maps["opens"]
        again.set_btf(spec.btf, ms.key_type_id, ms.value_type_id)
        assert list(again.items()) == expected and again.key_codec.spec is spec.btf
    coll.maps["opens"].unpin()


def test_map_without_btf_stays_bytes(unique_name):
    from pybpf.uapi import MapType

    with Map.new(MapType.HASH, 4, 8, 4, name=unique_name("nb")) as m:
        m[1] = 2
        with Map.from_id(m.id) as again:
            assert again.key_codec is None and again[1] == (2).to_bytes(8, "little")


def _check_records(spec, records, paths):
    codec = codec_for_name(spec.btf, "open_event")
    events = [codec.decode(rec) for rec in records]
    ours = [e for e in events if e["path"] in paths]
    assert [e["path"] for e in ours] == paths
    for e in ours:
        assert e["pid"] == os.getpid() and e["path_len"] == len(e["path"]) + 1
    assert any(len(rec) < codec.size for rec in records)  # the tails were short


def test_short_ring_buffer_records_decode(loaded, tmp_path):
    spec, coll = loaded
    paths = make_paths(tmp_path, 3)
    with coll.attach_all(), pybpf.RingBufReader(coll.maps["events"]) as reader:
        open_all(paths)
        records = reader.read_batch(timeout=2)
    _check_records(spec, records, paths)


def test_short_perf_records_decode(loaded, tmp_path):
    spec, coll = loaded
    with pybpf.PerfReader(coll.maps["perf_events"], pages=4) as reader:
        paths = make_paths(tmp_path, 3)
        with coll.attach_all():
            open_all(paths)
        records = []
        while True:
            batch = reader.read_batch(timeout=0)
            if not batch:
                break
            records += batch
    _check_records(spec, records, paths)
