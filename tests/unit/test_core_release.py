"""Target BTF is freed once released: release_kernel_btf() drops the per-process
cache, and the candidate index (keyed weakly by spec) does not keep a spec alive."""
from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

from pybpf.asm import Instruction
from pybpf.btf import Builder, Int, Member, Struct
from pybpf.core import kernel_targets, release_kernel_btf, relocate_object
from pybpf.core.kinds import RelocKind as K

LDX_DW = 0x79


def _btf(a_bit):
    b = Builder()
    u64 = b.add(Int("u64", 8))
    task = b.add(Struct("task", 16, [Member("z", u64, 0), Member("a", u64, a_bit)]))
    return b, task


def _sysfs(tmp_path):
    root = tmp_path / "btf"
    root.mkdir()
    (root / "vmlinux").write_bytes(_btf(64)[0].to_bytes())
    return str(root)


def _relocate(targets):
    local, task = _btf(0)
    insns = [Instruction(LDX_DW, 1, 2, 0, 0)]
    relo = SimpleNamespace(insn_off=0, type_id=task, access_str="0:1",
                           kind=int(K.FIELD_BYTE_OFFSET))
    relocate_object({"p": (insns, [relo])}, local.to_spec(), targets, cache=False)
    return insns[0].off


def test_released_kernel_btf_is_freed_after_relocation(tmp_path):
    sysfs = _sysfs(tmp_path)
    targets = kernel_targets(sysfs=sysfs)
    assert _relocate(targets) == 8
    gone = weakref.ref(targets.vmlinux)
    del targets
    release_kernel_btf()
    gc.collect()
    assert gone() is None


def test_release_reopens_on_next_use(tmp_path):
    sysfs = _sysfs(tmp_path)
    first = kernel_targets(sysfs=sysfs)
    assert kernel_targets(sysfs=sysfs) is first
    release_kernel_btf()
    again = kernel_targets(sysfs=sysfs)
    assert again is not first and _relocate(again) == 8


def test_release_drops_btf_files_given_by_path(tmp_path):
    path = tmp_path / "k.btf"
    path.write_bytes(_btf(64)[0].to_bytes())
    first = kernel_targets(str(path))
    release_kernel_btf()
    assert kernel_targets(str(path)) is not first
