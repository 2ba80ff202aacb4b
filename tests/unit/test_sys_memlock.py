"""Release parsing and the once-only RLIMIT_MEMLOCK fix-up of pybpf.sys.syscall (no kernel)."""
from __future__ import annotations

import errno
import resource

import pytest

from pybpf.sys import syscall as sc
from pybpf.uapi import Cmd


@pytest.mark.parametrize("release,want", [
    ("6.18.44-fc-v857", (6, 18, 44)),
    ("5.10.0-21-amd64", (5, 10, 0)),
    ("5.4", (5, 4, 0)),
    ("4.19.0+", (4, 19, 0)),
    ("6.1rc3", (6, 1, 0)),
])
def test_parse_release(release, want):
    assert sc.parse_release(release) == want


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8 << 20, 8 << 20))
    monkeypatch.setattr(resource, "setrlimit", lambda which, lim: seen.append((which, lim)))
    return seen


def test_old_kernel_raises_limit_once(monkeypatch, calls):
    monkeypatch.setattr(sc, "kernel_release", lambda: (5, 10, 0))
    m = sc._Memlock()
    m.before_alloc()
    m.before_alloc()
    inf = resource.RLIM_INFINITY
    assert calls == [(resource.RLIMIT_MEMLOCK, (inf, inf))]
    assert m.raise_limit() is False  # never twice


def test_new_kernel_leaves_limit_alone(monkeypatch, calls):
    monkeypatch.setattr(sc, "kernel_release", lambda: (6, 18, 0))
    m = sc._Memlock()
    m.before_alloc()
    assert calls == []
    assert m.raise_limit() is True  # still possible later, on an EPERM
    assert len(calls) == 1


def test_refused_setrlimit_is_not_an_error(monkeypatch):
    def refuse(which, lim):
        raise ValueError("not allowed")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (0, 0))
    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert sc._Memlock().raise_limit() is False


def test_eperm_from_allocating_command_retries_after_raising(monkeypatch):
    results = [(-1, errno.EPERM), (5, 0)]
    monkeypatch.setattr(sc, "bpf_raw", lambda cmd, attr, size=None: results.pop(0))
    fresh = sc._Memlock()
    fresh.checked = True
    monkeypatch.setattr(fresh, "raise_limit", lambda: True)
    monkeypatch.setattr(sc, "memlock", fresh)
    from pybpf.sys.attrs import MapCreateAttr
    assert sc.bpf(Cmd.MAP_CREATE, MapCreateAttr()) == 5
    assert results == []


def test_eperm_elsewhere_is_typed_error(monkeypatch):
    monkeypatch.setattr(sc, "bpf_raw", lambda cmd, attr, size=None: (-1, errno.EPERM))
    from pybpf.errors import PermissionDeniedError
    from pybpf.sys.attrs import MapElemAttr
    with pytest.raises(PermissionDeniedError) as caught:
        sc.bpf(Cmd.MAP_UPDATE_ELEM, MapElemAttr(), "map 'x'")
    assert caught.value.cmd == "BPF_MAP_UPDATE_ELEM" and "map 'x'" in str(caught.value)
