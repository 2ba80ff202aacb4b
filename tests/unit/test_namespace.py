"""The packages' lazy namespaces (pybpf.namespace): ``import pybpf`` imports none of the
modules behind its names; each name, however it is reached (``pybpf.X``, ``from pybpf
import X``, ``from pybpf import *``), is the object its module defines; ``__all__`` and
``dir()`` list every name; a hook kind's or reader's module comes only with its names."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

PACKAGES = ["pybpf", "pybpf.links", "pybpf.readers", "pybpf.elf"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_its_modules_object(name):
    package = importlib.import_module(name)
    owners = package._OWNERS
    assert sorted(package.__all__) == sorted(owners)
    for public, owner in owners.items():
        module = importlib.import_module(f"{name}.{owner}")
        assert getattr(package, public) is getattr(module, public)
        assert public in dir(package)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        package.nope  # noqa: B018


IMPORTS = """
import json, sys
before = set(sys.modules)
steps = {}
import pybpf
steps["import pybpf"] = sorted(set(sys.modules) - before)
from pybpf import BPFError, RingBufReader
steps["ring reader"] = sorted(m for m in sys.modules if m.startswith(("pybpf.readers.", "pybpf.links.")))
from pybpf.links import attach_tracepoint
steps["tracepoint"] = sorted(m for m in sys.modules if m.startswith("pybpf.links."))
ns = {}
exec("from pybpf import *", ns)
steps["star"] = sorted(k for k in ns if not k.startswith("__"))
print(json.dumps(steps))
"""


def test_names_bring_only_their_modules():
    out = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True,
                         check=True).stdout
    steps = json.loads(out)
    assert steps["import pybpf"] == ["pybpf", "pybpf.namespace"]
    assert steps["ring reader"] == ["pybpf.readers.base", "pybpf.readers.bulk",
                                    "pybpf.readers.ringbuf", "pybpf.readers.source"]
    assert "pybpf.links.perf_links" not in steps["tracepoint"]
    assert "pybpf.links.bpf_links" not in steps["tracepoint"]
    import pybpf
    assert steps["star"] == sorted(pybpf.__all__)


SUBMODULES = """
import pybpf
print(pybpf.links.attach.__module__, pybpf.uapi.MapType.RINGBUF.name, pybpf.errors.BPFError.__name__)
try:
    pybpf.links.nope
except AttributeError as exc:
    print(exc)
"""


def test_a_submodule_is_reached_from_its_package_as_when_imports_were_eager():
    # guide.md writes `import pybpf` then `pybpf.links.attach(...)`
    out = subprocess.run([sys.executable, "-c", SUBMODULES], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["pybpf.links.auto RINGBUF BPFError",
                   "module 'pybpf.links' has no attribute 'nope'"]
