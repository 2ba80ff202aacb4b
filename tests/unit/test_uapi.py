"""pybpf.uapi: each public enum (Cmd, MapType, ...) is an IntEnum/IntFlag with exactly
the members of its plain class (bpf_cmd, bpf_map_type, ...), behaves as one (lookup by
value and name, iteration with aliases left out, repr, pickling), and is built only
when its name is used: importing the module builds none."""
from __future__ import annotations

import enum
import json
import pickle
import subprocess
import sys

import pytest

from pybpf import uapi

ENUMS = sorted(uapi._ENUMS)


@pytest.mark.parametrize("name", ENUMS)
def test_each_enum_has_its_plain_classes_members(name):
    values, kind = uapi._ENUMS[name]
    made = getattr(uapi, name)
    assert issubclass(made, getattr(enum, kind)) and made.__name__ == name
    assert made.__module__ == "pybpf.uapi" and made.__doc__ == values.__doc__
    assert [(k, int(v)) for k, v in made.__members__.items()] == uapi.members(values)
    for key, number in uapi.members(values):
        member = made[key]
        assert member == number == getattr(values, key) and made(number) is getattr(made, key)
        assert pickle.loads(pickle.dumps(member)) is member
        assert uapi.name_of(values, number) == made(number).name
    assert getattr(uapi, name) is made  # built once


def test_enum_behaviour_is_an_enums():
    assert uapi.Cmd.PROG_RUN is uapi.Cmd.PROG_TEST_RUN  # an alias, as in the C enum
    assert "PROG_RUN" not in [m.name for m in uapi.Cmd]
    assert repr(uapi.MapType.RINGBUF) == "<MapType.RINGBUF: 27>"
    assert uapi.MapFlags.RDONLY | uapi.MapFlags.WRONLY == 24
    assert pickle.loads(pickle.dumps(uapi.ProgType)) is uapi.ProgType
    assert uapi.name_of(uapi.bpf_map_type, 9999) == "9999"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        uapi.Nope  # noqa: B018


LAZY = """
import json, sys
import pybpf.uapi as u
steps = {"import": [n for n in u._ENUMS if n in vars(u)]}
steps["dir"] = sorted(set(u._ENUMS) & set(dir(u)))  # listed, not built
steps["dir built"] = [n for n in u._ENUMS if n in vars(u)]
from pybpf.uapi import MapType
steps["MapType"] = [n for n in u._ENUMS if n in vars(u)]
print(json.dumps(steps))
"""


def test_the_enums_are_built_on_first_use_only():
    out = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == {"import": [], "dir": ENUMS, "dir built": [],
                               "MapType": ["MapType"]}
