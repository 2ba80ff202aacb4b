"""Target BTF discovery and the on-disk cache of relocation results.

A fake /sys/kernel/btf (vmlinux + a module's split BTF) is built with
pybpf.btf.Builder in a temporary directory; the cache lives under a
temporary XDG_CACHE_HOME.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from pybpf import cachedir
from pybpf.asm import Instruction
from pybpf.btf import Builder, Int, Member, Struct
from pybpf.core import cache, kernel_targets, load_btf_file, objects, relocate_object
from pybpf.core import kernel as kmod
from pybpf.core.kinds import POISON_IMM
from pybpf.core.kinds import RelocKind as K
from pybpf.errors import CoreRelocationError

LDX_DW = 0x79


def relo(insn, type_id, access, kind):
    return SimpleNamespace(insn_off=insn, type_id=type_id, access_str=access, kind=int(kind))


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cachedir.DISABLE_ENV, raising=False)
    return tmp_path / "cache" / "pybpf"


def _kernel(a_bit=64):
    k = Builder()
    u64 = k.add(Int("u64", 8))
    k.add(Struct("task", 16, [Member("z", u64, 0), Member("a", u64, a_bit)]))
    return k


@pytest.fixture
def fake_sysfs(tmp_path):
    root = tmp_path / "btf"
    root.mkdir()
    k = _kernel()
    (root / "vmlinux").write_bytes(k.to_bytes())
    m = Builder(base=k.to_spec("vmlinux"))
    m.add(Struct("modthing", 16, [Member("z", 1, 0), Member("a", 1, 64)]))
    (root / "mymod").write_bytes(m.to_bytes())
    return root


def _local():
    b = Builder()
    u64 = b.add(Int("u64", 8))
    task = b.add(Struct("task", 8, [Member("a", u64, 0)]))
    modthing = b.add(Struct("modthing", 8, [Member("a", u64, 0)]))
    gone = b.add(Struct("gone", 8, [Member("a", u64, 0)]))
    return b.to_spec(), task, modthing, gone


def test_kernel_targets_reads_vmlinux_and_modules(fake_sysfs):
    t = kernel_targets(sysfs=str(fake_sysfs))
    assert t.paths == [str(fake_sysfs / "vmlinux"), str(fake_sysfs / "mymod")]
    assert len(t.specs) == 2 and t.modules[0].base is t.vmlinux
    assert kernel_targets(sysfs=str(fake_sysfs)) is t  # once per process


def test_kernel_btf_opens_no_module(fake_sysfs, monkeypatch):
    monkeypatch.setattr(kmod, "SYSFS_BTF", str(fake_sysfs))
    kmod.release_kernel_btf()
    opened = []
    real = kmod._kernel_spec
    monkeypatch.setattr(kmod, "_kernel_spec",
                        lambda path, base=None: opened.append(path) or real(path, base))
    vmlinux = kmod.kernel_btf()
    assert opened == [str(fake_sysfs / "vmlinux")]
    assert kernel_targets(sysfs=str(fake_sysfs)).vmlinux is vmlinux  # the same Spec, once
    assert opened == [str(fake_sysfs / "vmlinux"), str(fake_sysfs / "mymod")]
    kmod.release_kernel_btf()


def test_no_kernel_btf_is_a_clear_error(tmp_path):
    with pytest.raises(CoreRelocationError, match="exposes no BTF.*btf=PATH"):
        kernel_targets(sysfs=str(tmp_path))


def test_btf_file_errors(tmp_path):
    with pytest.raises(CoreRelocationError, match="cannot read target BTF"):
        kernel_targets(tmp_path / "missing.btf")
    junk = tmp_path / "junk.btf"
    junk.write_bytes(b"not btf at all, certainly")
    with pytest.raises(CoreRelocationError, match="not a usable BTF file"):
        load_btf_file(junk)
    elf = tmp_path / "noelf.o"
    elf.write_bytes(b"\x7fELF" + b"\0" * 60)
    with pytest.raises(CoreRelocationError, match="junk|malformed ELF|no .BTF"):
        load_btf_file(elf)


def test_module_candidates_through_sysfs(fake_sysfs, monkeypatch):
    monkeypatch.setattr(kmod, "SYSFS_BTF", str(fake_sysfs))
    local, task, modthing, _ = _local()
    targets = kernel_targets(sysfs=str(fake_sysfs))
    insns = [Instruction(LDX_DW, 1, 2, 0, 0), Instruction(LDX_DW, 1, 2, 0, 0)]
    res = relocate_object({"p": (insns, [relo(0, task, "0:0", K.FIELD_BYTE_OFFSET),
                                         relo(1, modthing, "0:0", K.FIELD_BYTE_OFFSET)])},
                          local, targets, cache=False)
    assert [i.off for i in insns] == [8, 8]
    assert res["p"][1].candidates[0].source == "mymod"


def _run(target, cache_on=True):
    local, task, _, gone = _local()
    insns = [Instruction(LDX_DW, 1, 2, 0, 0), Instruction(LDX_DW, 1, 2, 0, 0)]
    res = relocate_object({"p": (insns, [relo(0, task, "0:0", K.FIELD_BYTE_OFFSET),
                                         relo(1, gone, "0:0", K.FIELD_BYTE_OFFSET)])},
                          local, target, cache=cache_on)
    return insns, res["p"]


def test_cache_cold_then_warm_without_parsing_the_target(tmp_path, cache_home, monkeypatch):
    path = tmp_path / "k.btf"
    path.write_bytes(_kernel().to_bytes())
    insns, res = _run(str(path))
    files = list(cache_home.glob("core-*.bin"))
    assert len(files) == 1 and insns[0].off == 8 and insns[1].imm == POISON_IMM

    def no_session(*a, **k):
        raise AssertionError("warm run must not relocate again")
    monkeypatch.setattr(objects, "Session", no_session)
    monkeypatch.setattr(objects, "as_targets", no_session)
    insns, res = _run(str(path))
    assert insns[0].off == 8 and insns[1].imm == POISON_IMM
    assert res[0].target.endswith("struct task.a") and "no field" not in res[0].reason
    assert res[1].poison and "no struct named 'gone'" in res[1].reason


def test_cache_key_follows_target_content(tmp_path, cache_home):
    path = tmp_path / "k.btf"
    path.write_bytes(_kernel(64).to_bytes())
    assert _run(str(path))[0][0].off == 8
    path.write_bytes(_kernel(0).to_bytes())  # same path, field moved
    assert _run(str(path))[0][0].off == 0
    assert len(list(cache_home.glob("core-*.bin"))) == 2


def _body(entry):
    """The JSON document of a results entry (after its magic and MAC)."""
    return json.loads(entry.read_bytes()[len(cache.RESULTS_MAGIC) + cachedir.MAC_LEN:])


@pytest.mark.parametrize("damage", ["truncate", "edit", "other-key", "garbage"])
def test_corrupt_or_stale_cache_is_ignored_and_rewritten(tmp_path, cache_home, damage):
    path = tmp_path / "k.btf"
    path.write_bytes(_kernel().to_bytes())
    _run(str(path))
    (entry,) = cache_home.glob("core-*.bin")
    raw = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "edit":  # a body that no longer matches its MAC
        assert b'"new_val":8,' in raw
        entry.write_bytes(raw.replace(b'"new_val":8,', b'"new_val":16,'))
    elif damage == "other-key":  # sealed with the right key, but says it is another entry
        doc = _body(entry)
        doc["key"] = "0" * 40
        with cachedir.opened() as d:
            d.store_sealed(entry.name, cache.RESULTS_MAGIC, json.dumps(doc).encode())
    else:
        entry.write_bytes(b"\xff\xfe\0garbage")
    assert entry.read_bytes() != raw
    insns, _ = _run(str(path))
    assert insns[0].off == 8
    assert entry.read_bytes() == raw  # rewritten as it was
    assert _body(entry)["key"] == entry.stem[len("core-"):]


def test_cache_disabled(tmp_path, cache_home, monkeypatch):
    path = tmp_path / "k.btf"
    path.write_bytes(_kernel().to_bytes())
    monkeypatch.setenv(cachedir.DISABLE_ENV, "1")
    _run(str(path))
    _run(str(path), cache_on=False)
    assert not cache_home.exists() or not list(cache_home.glob("core-*.bin"))


def test_cache_still_validates_instructions(tmp_path, cache_home):
    path = tmp_path / "k.btf"
    path.write_bytes(_kernel().to_bytes())
    _run(str(path))
    local, task, _, gone = _local()
    insns = [Instruction(LDX_DW, 1, 2, 4, 0), Instruction(LDX_DW, 1, 2, 0, 0)]  # off 4: wrong
    with pytest.raises(CoreRelocationError, match="has off 4, expected 0"):
        relocate_object({"p": (insns, [relo(0, task, "0:0", K.FIELD_BYTE_OFFSET),
                                       relo(1, gone, "0:0", K.FIELD_BYTE_OFFSET)])},
                        local, str(path))


def test_file_digest_remembered_by_identity(tmp_path, cache_home, monkeypatch):
    path = tmp_path / "k.btf"
    path.write_bytes(b"first content")
    real = cache.file_digest(str(path))
    monkeypatch.setattr(cache, "_file_digests", {})  # a new process
    with cachedir.opened() as d:
        memo = cache._read_memo(d)
        assert list(memo.values()) == [real]
        (ident,) = memo
        memo[ident] = "remembered"
        d.store_sealed(cache.MEMO_NAME, cache.MEMO_MAGIC, json.dumps(memo).encode())
    assert cache.file_digest(str(path)) == "remembered"  # not re-read
    monkeypatch.setattr(cache, "_file_digests", {})
    path.write_bytes(b"other content!")  # new size and mtime: a new identity
    assert cache.file_digest(str(path)) not in (real, "remembered")
    with cachedir.opened() as d:
        assert len(cache._read_memo(d)) == 1  # old entry dropped
