"""Plain records (pybpf.records) copy and pickle as the dataclasses they replaced did."""
import copy
import pickle

import pytest

from pybpf.elf.sections import SecDef
from pybpf.elf.specs import MapSpec
from pybpf.uapi import MapType
from pybpf_gadgets.common.filters import Filter
from pybpf_gadgets.common.gadget import Field, Hook

FROZEN = [Hook("tracepoint", "syscalls/sys_enter_openat"),
          Field("fname", "str", "file name"),
          SecDef("tracepoint/", 5, 0, 0)]


@pytest.mark.parametrize("record", FROZEN, ids=lambda r: type(r).__name__)
@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy, lambda r: pickle.loads(pickle.dumps(r))],
                         ids=["copy", "deepcopy", "pickle"])
def test_a_frozen_record_copies_and_pickles_equal(record, how):
    twin = how(record)
    assert twin == record and hash(twin) == hash(record)


def test_a_mutable_record_copies_apart():
    spec = MapSpec(name="counts", type=MapType.HASH, key_size=4, value_size=8, max_entries=16)
    twin = copy.deepcopy(spec)
    assert twin == spec
    twin.max_entries = 32
    assert spec.max_entries == 16


def test_a_filter_rebuilds_its_test_when_copied():
    kept = copy.deepcopy(Filter("proc.comm", "~", "^py"))
    assert kept({"proc": {"comm": "python3"}}) and not kept({"proc": {"comm": "sh"}})
