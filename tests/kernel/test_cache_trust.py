"""Root ignores what another user planted in the cache, rebuilds, and loads correctly.

An unprivileged user (nobody, through setpriv) plants entries in a
world-writable XDG_CACHE_HOME: forged relocation results and a BTF index with
shifted middle offsets, both sealed with a key of its own; or a results entry
of 200,000 '[' and a FIFO named like the index. The same content is then put,
owned by root, into root's own trusted directory (as if the ownership checks
had been bypassed), where the MAC and the file checks must catch it. Each time
root's programs must come out exactly as an uncached load makes them (the
kernel's program tags agree), and nothing may hang.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
from hashlib import blake2b
from pathlib import Path

import pytest
from exec_watch import ECHO, exec_events

from pybpf import cachedir, prepared
from pybpf.core import cache

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
# nobody must be able to run it: this test's own interpreter may live under root's home
PLANT_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
LOAD_TAGS = ("import json, sys, pybpf\n"
             "with pybpf.load(sys.argv[1]) as coll:\n"
             "    print(json.dumps({n: p.tag for n, p in coll.programs.items()}))\n")
HEAD = len(cache.RESULTS_MAGIC) + cachedir.MAC_LEN
PLANT = """
import base64, json, os, sys
root = sys.argv[1]
os.makedirs(root, mode=0o777, exist_ok=True)
os.chmod(root, 0o777)
for name, data in json.load(sys.stdin).items():
    path = os.path.join(root, name)
    if data is None:
        os.mkfifo(path, 0o666)
    else:
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))
"""


def _env(home):
    env = dict(os.environ)
    env.pop(cachedir.DISABLE_ENV, None)
    if home is None:
        env[cachedir.DISABLE_ENV] = "1"
    else:
        env["XDG_CACHE_HOME"] = str(home)
    return env


def load_tags(obj, home):
    got = subprocess.run([sys.executable, "-c", LOAD_TAGS, str(obj)], env=_env(home), cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout), got.stderr


def seal(key: bytes, name: str, magic: bytes, body: bytes) -> bytes:
    """What an attacker who knows the format (not root's key) writes."""
    h = blake2b(key=key, digest_size=cachedir.MAC_LEN)
    h.update(name.encode() + b"\0")
    h.update(body)
    return magic + h.digest() + body


def forged_results(raw: bytes) -> bytes:
    doc = json.loads(raw[HEAD:])
    for results in doc["results"].values():
        for r in results:
            if r["kind"] == "FIELD_BYTE_OFFSET" and not r["poison"]:
                r["new_val"] += 8  # as in the report: a field read 8 bytes off
                return json.dumps(doc).encode()
    raise AssertionError("no field offset relocation to forge")


def forged_index(raw: bytes) -> bytes:
    body = raw[len(cache.INDEX_MAGIC) + cachedir.MAC_LEN:]
    order, count = struct.unpack_from("<II", body)
    offsets = list(struct.unpack_from(f"<{count}I", body, 8))
    for i in range(count // 3, 2 * count // 3):
        offsets[i] += 1  # shifted middle records; first and last still fit
    return body[:8] + struct.pack(f"<{count}I", *offsets) + body[8 + 4 * count:]


@pytest.fixture(scope="module")
def genuine(obj_path_module, tmp_path_factory):
    """(object, uncached tags, {entry name: bytes} of a genuine cache of root's)."""
    obj = obj_path_module("trace_exec")
    reference, _ = load_tags(obj, None)
    home = tmp_path_factory.mktemp("genuine")
    tags, _ = load_tags(obj, home)
    assert tags == reference
    entries = {p.name: p.read_bytes() for p in (home / "pybpf").iterdir()}
    assert any(n.startswith("core-") for n in entries)
    assert any(n.startswith("btfindex-") for n in entries)
    assert any(n.startswith("prepared-") for n in entries)
    return obj, reference, entries


@pytest.fixture(scope="module")
def obj_path_module():
    def find(name):
        return next((ROOT / "bpf" / "objects").rglob(f"{name}.bpf.o"))
    return find


def plans(entries, attack):
    """{name: bytes or None for a FIFO} an attacker plants."""
    key = os.urandom(32)
    core = next(n for n in entries if n.startswith("core-"))
    index = next(n for n in entries if n.startswith("btfindex-"))
    ready = next(n for n in entries if n.startswith("prepared-"))
    if attack == "forged":
        body = entries[ready][HEAD:]
        return {"key": key,
                core: seal(key, core, cache.RESULTS_MAGIC, forged_results(entries[core])),
                index: seal(key, index, cache.INDEX_MAGIC, forged_index(entries[index])),
                ready: seal(key, ready, prepared.MAGIC, body[:-1] + bytes([body[-1] ^ 1]))}
    return {core: seal(key, core, cache.RESULTS_MAGIC, b"[" * 200_000), index: None,
            ready: seal(key, ready, prepared.MAGIC, b"[" * 200_000)}


def plant_as_nobody(where: Path, files) -> None:
    import base64
    payload = {n: (None if d is None else base64.b64encode(d).decode()) for n, d in files.items()}
    got = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          PLANT_PYTHON, "-c", PLANT, str(where)],
                         input=json.dumps(payload), capture_output=True, text=True, timeout=30)
    assert got.returncode == 0, got.stderr


@pytest.fixture
def world_writable():
    home = Path(tempfile.mkdtemp(prefix="pybpf-ww-", dir="/tmp"))
    os.chmod(home, 0o777)
    yield home
    shutil.rmtree(home)


def snapshot(directory: Path):
    return {p.name: (p.lstat().st_uid, p.read_bytes() if p.is_file() and not p.is_fifo() else None)
            for p in directory.iterdir()}


@pytest.mark.parametrize("attack", ["forged", "hostile"])
def test_root_ignores_a_world_writable_cache_planted_by_nobody(genuine, world_writable, attack):
    obj, reference, entries = genuine
    plant_as_nobody(world_writable / "pybpf", plans(entries, attack))
    before = snapshot(world_writable / "pybpf")
    assert {uid for uid, _ in before.values()} == {NOBODY}
    tags, err = load_tags(obj, world_writable)
    assert tags == reference
    assert err.count("\n") == 1 and f"{world_writable}/pybpf not used" in err, err
    assert snapshot(world_writable / "pybpf") == before  # root wrote nothing there


def test_root_does_not_follow_a_symlinked_cache_directory(genuine, tmp_path):
    obj, reference, _ = genuine
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "home").mkdir()
    os.symlink(target, tmp_path / "home" / "pybpf")
    tags, err = load_tags(obj, tmp_path / "home")
    assert tags == reference and "not a directory (a symlink?)" in err
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("attack", ["forged", "hostile", "owned-by-nobody"])
def test_bad_entries_in_roots_own_cache_are_discarded_and_rebuilt(genuine, tmp_path, attack):
    obj, reference, entries = genuine
    home = tmp_path / "home"
    load_tags(obj, home)  # root's own cache, with root's key
    mine = home / "pybpf"
    key = (mine / "key").read_bytes()
    if attack == "owned-by-nobody":  # sealed with root's own key, but not root's file
        planted = {n: seal(key, n, d[:8], d[HEAD:]) for n, d in entries.items()
                   if n.startswith(("core-", "btfindex-", "prepared-"))}
    else:
        planted = {n: d for n, d in plans(entries, attack).items() if n != "key"}
    for name, data in planted.items():
        path = mine / name
        path.unlink()
        if data is None:
            os.mkfifo(path, 0o600)
        else:
            path.write_bytes(data)
            os.chmod(path, 0o600)
            if attack == "owned-by-nobody":
                os.chown(path, NOBODY, NOBODY)
    tags, err = load_tags(obj, home)
    assert tags == reference and err == ""
    for name in planted:
        st = (mine / name).lstat()
        assert stat.S_ISREG(st.st_mode) and st.st_uid == 0
        assert (mine / name).read_bytes() == seal(key, name, entries[name][:8],
                                                  entries[name][HEAD:])


def test_main_job_right_with_a_forged_world_writable_cache(genuine, world_writable):
    """`pybpf run trace_exec -o json` reports the exec's file as it is, not 8 bytes off."""
    _, _, entries = genuine
    plant_as_nobody(world_writable / "pybpf", plans(entries, "forged"))
    tag, events, err, status = exec_events(
        [sys.executable, "-m", "pybpf", "run", "trace_exec", "-o", "json", "--timeout", "6"],
        env=_env(world_writable), cwd=ROOT)
    assert status == 0 and events, err
    assert events[0]["file"] == ECHO and events[0]["args"] == [ECHO, tag]
