"""Map against the real kernel: every common kind, element ops, iteration, batches, per-CPU."""
from __future__ import annotations

import os
import struct
import threading
from types import SimpleNamespace

import pytest

from pybpf import features
from pybpf.errors import ExistsError, InvalidArgumentError, NotFoundError, PermissionDeniedError
from pybpf.maps import PAGE_SIZE, Map
from pybpf.programs import Program
from pybpf.sys import btf_load, num_possible_cpus
from pybpf.uapi import BPF_EXIST, BPF_NOEXIST, MapFlags, MapType, ProgType


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


CREATABLE = [
    (MapType.HASH, 4, 8, 16, 0),
    (MapType.ARRAY, 4, 8, 16, 0),
    (MapType.LRU_HASH, 4, 8, 16, 0),
    (MapType.LRU_PERCPU_HASH, 4, 8, 16, 0),
    (MapType.PERCPU_HASH, 4, 8, 16, 0),
    (MapType.PERCPU_ARRAY, 4, 8, 16, 0),
    (MapType.RINGBUF, 0, 0, PAGE_SIZE * 4, 0),
    (MapType.PERF_EVENT_ARRAY, 4, 4, 0, 0),
    (MapType.PROG_ARRAY, 4, 4, 4, 0),
    (MapType.STACK_TRACE, 4, 8 * 127, 64, 0),
    (MapType.QUEUE, 0, 8, 16, 0),
    (MapType.STACK, 0, 8, 16, 0),
    (MapType.LPM_TRIE, 8, 4, 16, MapFlags.NO_PREALLOC),
    (MapType.BLOOM_FILTER, 0, 8, 16, 0),
    (MapType.CGROUP_ARRAY, 4, 4, 4, 0),
]


@pytest.mark.vm
@pytest.mark.parametrize("mtype,ks,vs,n,flags", CREATABLE, ids=[c[0].name for c in CREATABLE])
def test_create_each_kind(mtype, ks, vs, n, flags, unique_name):
    if not features.has_map_type(mtype):
        pytest.skip(str(features.has_map_type(mtype)))
    name = unique_name("m")
    with Map.new(mtype, ks, vs, n, name=name, flags=flags) as m:
        info = m.info()
        assert info.type == mtype and info.name == name
        assert (info.key_size, info.value_size) == (ks, vs)
        if mtype == MapType.PERF_EVENT_ARRAY:
            assert m.max_entries == info.max_entries == num_possible_cpus()
        else:
            assert info.max_entries == n
    assert m.closed


@pytest.mark.parametrize("outer", [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS])
def test_map_in_map(outer, unique_name):
    with Map.new(MapType.ARRAY, 4, 4, 2, name=unique_name("in")) as inner, \
            Map.new(outer, 4, 4, 4, name=unique_name("out"), inner_map_fd=inner) as m:
        m[0] = inner  # an fd-owning object is stored by its fd
        assert m[0] == u32(inner.id)  # lookups from user space return the id


def test_map_in_map_from_spec_inner_template(unique_name):
    inner = SimpleNamespace(name="tmpl", type=MapType.HASH, key_size=4, value_size=4,
                            max_entries=8)
    spec = SimpleNamespace(name=unique_name("o"), type=MapType.ARRAY_OF_MAPS, key_size=4,
                           value_size=4, max_entries=2, inner=inner)
    with Map.create(spec) as m, Map.new(MapType.HASH, 4, 4, 8) as member:
        m[1] = member
        assert m[1] == u32(member.id)


def test_hash_element_ops(unique_name):
    with Map.new(MapType.HASH, 4, 8, 8, name=unique_name("h")) as m:
        m[1] = 10
        m[u32(2)] = u64(20)
        assert m[1] == u64(10) and m[2] == u64(20)
        assert 1 in m and 3 not in m
        assert m.lookup(3) is None
        assert m.get(3, "dflt") == "dflt"
        with pytest.raises(KeyError):
            m[3]
        with pytest.raises(ExistsError) as caught:
            m.update(1, 11, BPF_NOEXIST)
        assert "BPF_MAP_UPDATE_ELEM" in str(caught.value) and m.name in str(caught.value)
        with pytest.raises(NotFoundError):
            m.update(5, 50, BPF_EXIST)
        m.update(1, 11, BPF_EXIST)
        assert m[1] == u64(11)
        m.update({6: 60, 7: 70})  # dict-style update still works
        assert sorted(m) == [u32(k) for k in (1, 2, 6, 7)]
        assert len(m) == 4
        assert m.delete(6) is True and m.delete(6) is False
        del m[7]
        with pytest.raises(KeyError):
            del m[7]
        if features.has_lookup_and_delete(MapType.HASH):
            assert m.lookup_and_delete(2) == u64(20)
        else:
            del m[2]
        assert dict(m.items()) == {u32(1): u64(11)}
        assert list(m.values()) == [u64(11)]
        m.clear()
        assert len(m) == 0


def test_wrong_sizes_and_types_are_rejected(unique_name):
    with Map.new(MapType.HASH, 4, 8, 8, name=unique_name("s")) as m:
        with pytest.raises(ValueError, match="key is 3 bytes"):
            m[b"abc"] = 1
        with pytest.raises(ValueError, match="value is 4 bytes"):
            m[1] = b"abcd"
        with pytest.raises(TypeError):
            m["str"] = 1
        with pytest.raises(ValueError, match="does not fit"):
            m[1 << 40] = 1


def test_raw_int_inner_map_fd(unique_name):
    with Map.new(MapType.ARRAY, 4, 4, 1) as inner, \
            Map.new(MapType.ARRAY_OF_MAPS, 4, 4, 1, name=unique_name("io"),
                    inner_map_fd=inner.fileno()) as outer:
        outer[0] = inner.fileno()
        assert outer[0] == u32(inner.id)


def test_codec_size_mismatch_creates_nothing():
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError, match="codec"):
        Map.new(MapType.HASH, 4, 8, 8, value_codec=_U32Codec())
    assert len(os.listdir("/proc/self/fd")) == before


def test_full_hash_is_no_space_error(unique_name):
    from pybpf.errors import NoSpaceError
    with Map.new(MapType.HASH, 4, 4, 2, name=unique_name("f")) as m:
        m[1] = 1
        m[2] = 2
        with pytest.raises(NoSpaceError):
            m[3] = 3


def test_array_semantics(unique_name):
    with Map.new(MapType.ARRAY, 4, 4, 4, name=unique_name("a")) as m:
        assert len(m) == 4 and m[3] == u32(0)
        m[2] = 7
        assert m[2] == u32(7)
        with pytest.raises(InvalidArgumentError):
            del m[2]
        with pytest.raises(KeyError):
            m[4]


@pytest.mark.vm
def test_iteration_survives_concurrent_deletes_without_duplicates(unique_name):
    with Map.new(MapType.HASH, 4, 4, 1024, name=unique_name("it")) as m:
        m.update_batch([(i, i) for i in range(500)])
        seen = []
        for key in m:
            seen.append(key)
            # delete the cursor itself and a few keys ahead of it
            n = struct.unpack("<I", key)[0]
            for victim in (n, (n * 7 + 3) % 500, (n * 13 + 1) % 500):
                m.delete(victim)
        assert len(seen) == len(set(seen))
        assert len(m) == 0


def test_items_skip_keys_deleted_by_another_thread(unique_name):
    with Map.new(MapType.HASH, 4, 4, 4096, name=unique_name("th")) as m:
        m.update_batch([(i, i) for i in range(2000)])
        stop = threading.Event()

        def deleter():
            for i in range(0, 2000, 2):
                m.delete(i)
            stop.set()

        t = threading.Thread(target=deleter)
        t.start()
        items = list(m.items())
        t.join()
        keys = [k for k, _ in items]
        assert len(keys) == len(set(keys))
        assert all(v == k for k, v in items)
        odd = {u32(i) for i in range(1, 2000, 2)}
        assert odd <= set(keys)  # never deleted, so never missed


@pytest.mark.vm
def test_hash_batch_ops(unique_name):
    with Map.new(MapType.HASH, 4, 8, 1000, name=unique_name("b")) as m:
        assert m.update_batch({i: i * 2 for i in range(300)}) == 300
        got = m.lookup_batch(batch_size=16)
        assert len(got) == 300
        assert {k: v for k, v in got} == {u32(i): u64(i * 2) for i in range(300)}
        assert m.delete_batch(range(100)) == 100
        assert len(m) == 200
        drained = m.lookup_and_delete_batch(batch_size=64)
        assert len(drained) == 200 and len(m) == 0
        assert m.lookup_batch() == []


def test_hash_batch_smaller_than_a_bucket(unique_name):
    # 8 keys in 8 buckets collide; a batch of 1 gets ENOSPC for a full bucket and grows
    with Map.new(MapType.HASH, 4, 4, 8, name=unique_name("b1")) as m:
        m.update_batch([(i, i) for i in range(8)])
        got = m.lookup_batch(batch_size=1)
        assert sorted(got) == [(u32(i), u32(i)) for i in range(8)]


def test_array_batch_and_fallback(unique_name):
    with Map.new(MapType.ARRAY, 4, 4, 10, name=unique_name("ab")) as m:
        m.update_batch([(i, i + 100) for i in range(10)])
        assert m.lookup_batch(batch_size=3) == [(u32(i), u32(i + 100)) for i in range(10)]
        # arrays have no delete batch: the per-element fallback reports the kernel's refusal
        with pytest.raises(InvalidArgumentError):
            m.delete_batch([1])


@pytest.mark.vm
def test_percpu_values(unique_name):
    ncpu = num_possible_cpus()
    with Map.new(MapType.PERCPU_HASH, 4, 4, 8, name=unique_name("pc")) as m:
        assert m.percpu and m.ncpus == ncpu
        m[1] = list(range(ncpu))
        assert m[1] == [u32(c) for c in range(ncpu)]
        with pytest.raises(ValueError, match="per-CPU"):
            m[2] = 5
        assert m.lookup_batch() == [(u32(1), [u32(c) for c in range(ncpu)])]
    # 12-byte values are padded to 16 per CPU in the kernel's layout
    with Map.new(MapType.PERCPU_ARRAY, 4, 12, 2, name=unique_name("pa")) as m:
        m[0] = [bytes([c]) * 12 for c in range(ncpu)]
        assert m[0] == [bytes([c]) * 12 for c in range(ncpu)]
        assert m[1] == [bytes(12)] * ncpu


class _U64Codec:
    size = 8

    def decode(self, buf):
        return struct.unpack("<Q", buf)[0]

    def encode(self, value):
        return struct.pack("<Q", value)


class _U32Codec:
    size = 4

    def decode(self, buf):
        return struct.unpack("<I", buf)[0]

    def encode(self, value):
        return struct.pack("<I", value)


class _PairCodec:
    size = 8

    def decode(self, buf):
        a, b = struct.unpack("<II", buf)
        return {"a": a, "b": b}

    def encode(self, value):
        return struct.pack("<II", value["a"], value["b"])


def test_codecs(unique_name):
    with Map.new(MapType.HASH, 8, 8, 8, name=unique_name("c"), key_codec=_U64Codec(),
                 value_codec=_PairCodec()) as m:
        m[5] = {"a": 1, "b": 2}
        assert m[5] == {"a": 1, "b": 2}
        assert list(m) == [5]
        assert dict(m.items()) == {5: {"a": 1, "b": 2}}
        assert m.lookup_batch() == [(5, {"a": 1, "b": 2})]
    with pytest.raises(ValueError, match="codec"):
        Map.new(MapType.HASH, 4, 8, 8, key_codec=_U64Codec())


def test_percpu_with_codec(unique_name):
    ncpu = num_possible_cpus()
    with Map.new(MapType.PERCPU_ARRAY, 4, 8, 1, name=unique_name("pcc"),
                 value_codec=_U64Codec()) as m:
        m[0] = [c * 3 for c in range(ncpu)]
        assert m[0] == [c * 3 for c in range(ncpu)]


def test_queue_and_stack(unique_name):
    with Map.new(MapType.QUEUE, 0, 8, 4, name=unique_name("q")) as q:
        for v in (1, 2, 3):
            q.update(None, v)
        assert q.lookup() == u64(1)  # peek
        assert [q.lookup_and_delete() for _ in range(4)] == [u64(1), u64(2), u64(3), None]
    with Map.new(MapType.STACK, 0, 8, 4, name=unique_name("s")) as s:
        for v in (1, 2):
            s.update(None, v)
        assert s.lookup_and_delete() == u64(2)


def test_lpm_trie(unique_name):
    with Map.new(MapType.LPM_TRIE, 8, 4, 16, name=unique_name("lpm"),
                 flags=MapFlags.NO_PREALLOC) as m:
        m[struct.pack("<I4B", 24, 10, 1, 2, 0)] = 1
        m[struct.pack("<I4B", 32, 10, 1, 2, 3)] = 2
        assert m[struct.pack("<I4B", 32, 10, 1, 2, 9)] == u32(1)
        assert m[struct.pack("<I4B", 32, 10, 1, 2, 3)] == u32(2)
        assert len(m) == 2


def test_prog_array_holds_programs(unique_name):
    ret0 = struct.pack("<BBhi", 0xb7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    with Map.new(MapType.PROG_ARRAY, 4, 4, 2, name=unique_name("pa")) as m, \
            Program.load(unique_name("t"), ProgType.SOCKET_FILTER, ret0, "GPL") as prog:
        m[0] = prog
        assert m[0] == u32(prog.id)
        # prog arrays have no lookup batch (ENOTSUPP): per-element fallback, empty slots skipped
        assert m.lookup_batch() == [(u32(0), u32(prog.id))]
        del m[0]
        assert 0 not in m


def test_pin_unpin_from_pin_from_id(pin_dir, unique_name):
    name = unique_name("pin")
    path = pin_dir / "m"
    with Map.new(MapType.HASH, 4, 4, 4, name=name) as m:
        m[1] = 2
        m.pin(path)
        assert path.exists()
        with pytest.raises(ExistsError):
            m.pin(path)
        with Map.from_pin(path) as again:
            assert (again.name, again.type, again.key_size, again.value_size,
                    again.max_entries) == (name, MapType.HASH, 4, 4, 4)
            assert again[1] == u32(2)
            again[3] = 4
        assert m[3] == u32(4)
        with Map.from_id(m.id) as by_id:
            assert by_id.id == m.id and len(by_id) == 2
        m.unpin()
        assert not path.exists() and m.pinned is None
        assert m[1] == u32(2)  # the map lives on while its fd is open


def test_freeze_gives_permission_error(unique_name):
    with Map.new(MapType.ARRAY, 4, 4, 1, name=unique_name("fz")) as m:
        m[0] = 9
        m.freeze()
        assert m[0] == u32(9)
        with pytest.raises(PermissionDeniedError) as caught:
            m[0] = 1
        assert "BPF_MAP_UPDATE_ELEM" in str(caught.value)


def test_from_fd_takes_ownership(unique_name):
    with Map.new(MapType.HASH, 4, 4, 4, name=unique_name("own")) as m:
        dup = m.fd.dup()
        other = Map.from_fd(dup)
        assert other.id == m.id and other.name == m.name
        other.close()
        assert dup.closed
        m[1] = 1  # the original fd is untouched


def test_btf_ids_dropped_when_refused(unique_name):
    # BTF describing a 4-byte int (type id 1): right for a u32 value, wrong for a 16-byte one
    types = struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)
    strings = b"\0int\0"
    blob = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types),
                       len(strings)) + types + strings
    with btf_load(blob) as btf_fd:
        spec = SimpleNamespace(name=unique_name("bt"), type=MapType.HASH, key_size=4,
                               value_size=16, max_entries=4, key_type_id=1, value_type_id=1)
        with Map.create(spec, btf_fd=btf_fd) as m:
            assert m.info().btf_id == 0
        spec.value_size = 4
        with Map.create(spec, btf_fd=btf_fd) as m:
            assert m.info().btf_id != 0 and m.info().btf_value_type_id == 1


def test_no_fd_leak_over_many_create_close_cycles(unique_name):
    before = len(os.listdir("/proc/self/fd"))
    for i in range(200):
        with Map.new(MapType.HASH, 4, 4, 4, name="leak") as m:
            m[i] = i
            list(m.items())
            m.lookup_batch()
        with pytest.raises(ExistsError):
            with Map.new(MapType.HASH, 4, 4, 4) as m:
                m[1] = 1
                m.update(1, 1, BPF_NOEXIST)
    assert len(os.listdir("/proc/self/fd")) == before


def test_typed_map_with_kernel_btf_and_btf_codecs(unique_name):
    # a map whose key/value types the kernel knows from BTF, read back through BTF codecs
    from pybpf.btf.builder import Builder
    from pybpf.btf.codec import Codec
    from pybpf.btf.types import Array, Int, Member, Struct

    b = Builder()
    u32_id = b.add(Int("unsigned int", 4, 0, 32, 0))
    char_id = b.add(Int("char", 1, 2, 8, 0))  # encoding 2: char
    comm_id = b.add(Array(char_id, u32_id, 8))
    val_id = b.add(Struct("val", 16, [Member("pid", u32_id, 0), Member("cnt", u32_id, 32),
                                      Member("comm", comm_id, 64)]))
    spec = b.to_spec()
    with btf_load(b.to_bytes()) as btf_fd:
        mspec = SimpleNamespace(name=unique_name("ty"), type=MapType.HASH, key_size=4,
                                value_size=16, max_entries=8, key_type_id=u32_id,
                                value_type_id=val_id)
        with Map.create(mspec, btf_fd=btf_fd, key_codec=Codec.for_type(spec, u32_id),
                        value_codec=Codec.for_type(spec, val_id)) as m:
            info = m.info()
            assert info.btf_key_type_id == u32_id and info.btf_value_type_id == val_id
            m[7] = {"pid": 7, "cnt": 3, "comm": "bash"}
            got = m[7]
            assert got["pid"] == 7 and got["cnt"] == 3 and got["comm"] in ("bash", b"bash")
            assert list(m) == [7]
            with Map.from_id(m.id) as again:  # typed from the kernel's copy of the BTF
                assert again[7] == {"pid": 7, "cnt": 3, "comm": "bash"}
                assert again.raw[7][:8] == struct.pack("<II", 7, 3)


def test_incompatibilities_account_for_create_adjustments(pin_dir, unique_name):
    perf = SimpleNamespace(name=unique_name("pe"), type=MapType.PERF_EVENT_ARRAY, key_size=4,
                           value_size=4, max_entries=0, flags=0)
    with Map.create(perf) as m:
        m.pin(pin_dir / "pe")
        with Map.from_pin(pin_dir / "pe") as again:
            assert again.incompatibilities(perf) == []
            bigger = SimpleNamespace(**{**vars(perf), "value_size": 8})
            assert again.incompatibilities(bigger) == ["value_size 4 != 8"]
    ring = SimpleNamespace(name=unique_name("rb"), type=MapType.RINGBUF, key_size=0,
                           value_size=0, max_entries=PAGE_SIZE + 1, flags=0)
    with Map.create(ring) as m:
        assert m.max_entries == 2 * PAGE_SIZE == m.info().max_entries
        assert m.incompatibilities(ring) == []
