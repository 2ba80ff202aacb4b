"""The running kernel's BTF files are keyed by identity and boot id, never read for the key."""
from __future__ import annotations

import builtins
from hashlib import blake2b

import pytest

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
    monkeypatch.setattr(cache, "_boot_id", lambda: "boot-1")
    first = cache.file_digest(str(path))
    assert not (fake_kernel_dir.parent / "cache" / "pybpf" / "digests.json").exists()
    monkeypatch.setattr(cache, "_file_digests", {})
    assert cache.file_digest(str(path)) == first  # same boot, same identity
    monkeypatch.setattr(cache, "_file_digests", {})
    monkeypatch.setattr(cache, "_boot_id", lambda: "boot-2")
    assert cache.file_digest(str(path)) != first  # a reboot is a new kernel


def test_without_a_boot_id_kernel_files_are_hashed(fake_kernel_dir, monkeypatch):
    path = fake_kernel_dir / "vmlinux"
    path.write_bytes(b"kernel btf bytes")
    monkeypatch.setattr(cache, "_boot_id", lambda: "")
    assert cache.file_digest(str(path)) == blake2b(b"kernel btf bytes", digest_size=20).hexdigest()
