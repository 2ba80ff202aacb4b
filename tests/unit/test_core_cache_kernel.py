"""The running kernel's BTF files are keyed by identity and boot id, never read for the key."""
from __future__ import annotations

import builtins
from hashlib import blake2b

import pytest

from pybpf import cachedir
from pybpf.core import cache


@pytest.fixture
def fake_kernel_dir(tmp_path, monkeypatch):
    root = tmp_path / "sys-kernel-btf"
    root.mkdir()
    monkeypatch.setattr(cache, "KERNEL_BTF_DIR", str(root) + "/")
    monkeypatch.setattr(cache, "_file_digests", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return root


def test_kernel_btf_digest_does_not_read_the_file(fake_kernel_dir, monkeypatch):
    path = fake_kernel_dir / "vmlinux"
    path.write_bytes(b"kernel btf bytes")
    real_open = builtins.open

    def no_read(file, *args, **kwargs):
        assert str(file) != str(path), "kernel BTF read to compute a cache key"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_read)
    monkeypatch.setattr(cachedir, "boot_id", lambda: "boot-1")
    first = cache.file_digest(str(path))
    assert not (fake_kernel_dir.parent / "cache" / "pybpf" / "digests.json").exists()
    monkeypatch.setattr(cache, "_file_digests", {})
    assert cache.file_digest(str(path)) == first  # same boot, same identity
    monkeypatch.setattr(cache, "_file_digests", {})
    monkeypatch.setattr(cachedir, "boot_id", lambda: "boot-2")
    assert cache.file_digest(str(path)) != first  # a reboot is a new kernel


def test_without_a_boot_id_kernel_files_are_hashed(fake_kernel_dir, monkeypatch):
    path = fake_kernel_dir / "vmlinux"
    path.write_bytes(b"kernel btf bytes")
    monkeypatch.setattr(cachedir, "boot_id", lambda: "")
    assert cache.file_digest(str(path)) == blake2b(b"kernel btf bytes", digest_size=20).hexdigest()


def _vmlinux_bytes(extra: int = 0) -> bytes:
    from pybpf.btf import Builder, Int, Member, Struct
    b = Builder()
    u64 = b.add(Int("u64", 8))
    b.add(Struct("task_struct", 16, [Member("pid", u64, 0), Member("tgid", u64, 64)]))
    for n in range(extra):
        b.add(Struct(f"filler{n}", 8, [Member("x", u64, 0)]))
    return b.to_bytes()


def _targets(root):
    from pybpf.core import kernel as kmod
    kmod.release_kernel_btf()
    return kmod.kernel_targets(sysfs=str(root))


def test_kernel_btf_index_saved_then_adopted(fake_kernel_dir, monkeypatch):
    monkeypatch.setattr(cachedir, "boot_id", lambda: "boot-1")
    monkeypatch.delenv(cachedir.DISABLE_ENV, raising=False)
    (fake_kernel_dir / "vmlinux").write_bytes(_vmlinux_bytes(3))
    first = _targets(fake_kernel_dir).vmlinux
    assert not first.index_adopted
    (saved,) = (fake_kernel_dir.parent / "cache" / "pybpf").glob("btfindex-*.bin")
    again = _targets(fake_kernel_dir).vmlinux
    assert again.index_adopted
    assert again.type_count == first.type_count
    assert again.ids_by_name("task_struct") == first.ids_by_name("task_struct") == [2]
    assert again[2].members[1].name == "tgid"
    # a damaged index is ignored (one pass over the types) and written again
    saved.write_bytes(saved.read_bytes()[:-3] + b"xyz")
    damaged = _targets(fake_kernel_dir).vmlinux
    assert not damaged.index_adopted and damaged.ids_by_name("filler2") == [5]
    assert _targets(fake_kernel_dir).vmlinux.index_adopted


def test_an_index_that_does_not_fit_the_file_is_ignored():
    from pybpf.btf import Spec
    small, big = Spec.from_bytes(_vmlinux_bytes(1)), Spec.from_bytes(_vmlinux_bytes(4))
    assert not Spec.from_bytes(_vmlinux_bytes(4), index=small.index_bytes()).index_adopted
    assert not Spec.from_bytes(_vmlinux_bytes(1), index=big.index_bytes()).index_adopted
    fits = Spec.from_bytes(_vmlinux_bytes(4), index=big.index_bytes())
    assert fits.index_adopted and fits.ids_by_name("filler3") == [6]


def test_index_cache_off_with_the_result_cache(fake_kernel_dir, monkeypatch):
    monkeypatch.setattr(cachedir, "boot_id", lambda: "boot-1")
    monkeypatch.setenv(cachedir.DISABLE_ENV, "1")
    (fake_kernel_dir / "vmlinux").write_bytes(_vmlinux_bytes())
    _targets(fake_kernel_dir)
    assert not list((fake_kernel_dir.parent / "cache").glob("**/btfindex-*"))
