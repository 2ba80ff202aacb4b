"""The cache directory's trust model without root: what is refused, ignored, bounded.

(Ownership by another user needs root: tests/kernel/test_cache_trust.py.)
"""
from __future__ import annotations

import os

import pytest

from pybpf import cachedir
from pybpf.core import cache


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(cachedir.DISABLE_ENV, raising=False)
    monkeypatch.setattr(cachedir, "ROOT_FALLBACKS", ())
    monkeypatch.setattr(cachedir, "_told", set())
    return tmp_path / "xdg"


def test_created_private_and_usable(home):
    with cachedir.opened() as d:
        assert d is not None and d.path == str(home / "pybpf")
        d.store_sealed("e", b"MAGIC123", b"body")
        assert bytes(d.load_sealed("e", b"MAGIC123", 100)) == b"body"
    assert (home / "pybpf").stat().st_mode & 0o777 == 0o700
    assert (home / "pybpf" / "key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("how", ["group-writable", "symlink", "loose-ancestor", "file"])
def test_unsafe_directory_means_uncached_said_once(home, tmp_path, capsys, how):
    if how == "group-writable":
        (home / "pybpf").mkdir(parents=True)
        os.chmod(home / "pybpf", 0o775)
    elif how == "symlink":
        (tmp_path / "elsewhere").mkdir()
        home.mkdir()
        os.symlink(tmp_path / "elsewhere", home / "pybpf")
    elif how == "loose-ancestor":
        home.mkdir()
        os.chmod(home, 0o777)
    else:
        home.mkdir()
        (home / "pybpf").write_text("not a directory")
    for _ in range(3):
        with cachedir.opened() as d:
            assert d is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "running without a cache" in err, err
    assert cachedir.DISABLE_ENV in err
    if how == "symlink":
        assert list((tmp_path / "elsewhere").iterdir()) == []


def test_sticky_world_writable_ancestor_is_fine(home):
    home.mkdir()
    os.chmod(home, 0o1777)
    with cachedir.opened() as d:
        assert d is not None


def test_disabled_by_env(home, monkeypatch, capsys):
    monkeypatch.setenv(cachedir.DISABLE_ENV, "1")
    with cachedir.opened() as d:
        assert d is None
    assert capsys.readouterr().err == "" and not home.exists()


def _sealed(home, name=b"e", body=b"body"):
    with cachedir.opened() as d:
        d.store_sealed(name.decode(), b"MAGIC123", body)
    return home / "pybpf" / name.decode()


@pytest.mark.parametrize("damage", ["fifo", "oversized", "hardlink", "symlink", "bad-mac",
                                    "group-writable", "directory", "no-key"])
def test_bad_entries_are_ignored(home, tmp_path, damage):
    path = _sealed(home)
    raw = path.read_bytes()
    if damage == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif damage == "oversized":
        path.write_bytes(raw + b"x" * 200)
    elif damage == "hardlink":
        os.link(path, tmp_path / "second-name")
    elif damage == "symlink":
        (tmp_path / "target").write_bytes(raw)
        path.unlink()
        os.symlink(tmp_path / "target", path)
    elif damage == "bad-mac":
        path.write_bytes(raw[:-1] + b"X")
    elif damage == "group-writable":
        os.chmod(path, 0o664)
    elif damage == "directory":
        path.unlink()
        path.mkdir()
    else:
        (home / "pybpf" / "key").unlink()
    with cachedir.opened() as d:
        assert d.load_sealed("e", b"MAGIC123", 100) is None


def test_deeply_nested_results_entry_is_not_fatal(home):
    """200,000 '[' sealed with the right key: parsing fails quietly (RecursionError caught)."""
    with cachedir.opened() as d:
        d.store_sealed("core-k.bin", cache.RESULTS_MAGIC, b"[" * 200_000)
    assert cache.load("k", {"p": []}) is None


def test_entry_sealed_under_another_name_is_refused(home):
    path = _sealed(home, b"a")
    os.rename(path, home / "pybpf" / "b")
    with cachedir.opened() as d:
        assert d.load_sealed("b", b"MAGIC123", 100) is None


def test_pruned_by_age_and_total_size(home, monkeypatch):
    for n in range(4):
        _sealed(home, f"e{n}".encode(), b"x" * 1000)
    monkeypatch.setattr(cachedir, "MAX_TOTAL", 2500)
    for n in range(4):
        os.utime(home / "pybpf" / f"e{n}", (1000 + n, 1000 + n))
    old = home / "pybpf" / "e0"
    with cachedir.opened() as d:
        d.prune(now=1000 + cachedir.MAX_AGE + 0.5)  # e0 is over age; then size keeps 2
    left = sorted(p.name for p in (home / "pybpf").iterdir())
    assert not old.exists() and left == ["e2", "e3", "key"]
