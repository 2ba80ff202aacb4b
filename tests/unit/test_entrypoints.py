"""Entry points found once per installation state (pybpf.entrypoints): the second
start reads them from the cache without importing importlib.metadata, a distribution
added to sys.path is seen, and an entry that is off is ignored and rewritten."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pybpf import cachedir

LIST = ("import json, sys\n"
        "from pybpf.entrypoints import entry_points\n"
        "eps = entry_points('pybpf.test_group')\n"
        "print(json.dumps({'eps': [[e.name, e.value] for e in eps],\n"
        "                  'metadata': 'importlib.metadata' in sys.modules,\n"
        "                  'loaded': [e.load()() for e in eps]}))\n")


def site_with(tmp_path: Path, name: str, entries: str) -> Path:
    site = tmp_path / name
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entries)
    (site / f"{name}_mod.py").write_text("def hello():\n    return 'hello'\n")
    return site


def home_and_site(tmp_path: Path):
    """A cache home, a steady working directory and a site with one entry point."""
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    return tmp_path / "home", site_with(tmp_path, "one", "[pybpf.test_group]\nhi = one_mod:hello\n")


def run(home: Path, *sites: Path) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(home),
               PYTHONPATH=os.pathsep.join([str(s) for s in sites] + sys.path[1:]))
    env.pop(cachedir.DISABLE_ENV, None)
    # the working directory is on sys.path (python -c): one that does not change
    cwd = home.parent / "cwd"
    got = subprocess.run([sys.executable, "-c", LIST], env=env, capture_output=True, text=True,
                         timeout=60, cwd=str(cwd))
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def test_found_once_then_read_back(tmp_path):
    home, one = home_and_site(tmp_path)
    first = run(home, one)
    assert first == {"eps": [["hi", "one_mod:hello"]], "metadata": True, "loaded": ["hello"]}
    again = run(home, one)
    assert again == dict(first, metadata=False)


def test_another_distribution_on_the_path_is_seen(tmp_path):
    home, one = home_and_site(tmp_path)
    two = site_with(tmp_path, "two", "[pybpf.test_group]\nho = two_mod:hello\nhi = two_mod:x\n")
    run(home, one)
    both = run(home, one, two)
    assert both["eps"] == [["hi", "one_mod:hello"], ["ho", "two_mod:hello"]]  # first wins


def test_an_entry_off_is_ignored_and_rewritten(tmp_path):
    home, one = home_and_site(tmp_path)
    first = run(home, one)
    (entry,) = (home / "pybpf").glob("entrypoints-*.json")
    genuine = entry.read_bytes()
    entry.write_bytes(genuine.replace(b"one_mod:hello", b"os:system!!!!"))
    assert run(home, one) == first  # the MAC fails: scanned again
    assert entry.read_bytes() == genuine
