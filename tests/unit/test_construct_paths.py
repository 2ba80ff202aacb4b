"""construct is imported only on the paths that use it (its import costs ~30 ms, more
than parsing a gadget object): not by pybpf, its readers or links, nor by parsing an
object without legacy maps; a legacy ``maps`` section and the layouts' own modules do."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"

PROBE = """
import json, sys
steps = {}
import pybpf, pybpf.readers, pybpf.links, pybpf.elf.reader
from pybpf.elf import ObjectSpec
steps["imports"] = "construct" in sys.modules
ObjectSpec.from_file(sys.argv[1])
steps["modern object"] = "construct" in sys.modules
ObjectSpec.from_file(sys.argv[2])
steps["legacy maps"] = "construct" in sys.modules
print(json.dumps(steps))
"""


def test_construct_stays_off_the_common_paths():
    out = subprocess.run([sys.executable, "-c", PROBE, str(OBJECTS / "minimal.bpf.o"),
                          str(OBJECTS / "loader_legacy.bpf.o")],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {"imports": False, "modern object": False, "legacy maps": True}
