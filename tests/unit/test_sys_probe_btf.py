"""The BTF blobs pybpf.features loads to probe the kernel are well-formed (checked by pybpf.btf)."""
from __future__ import annotations

import pytest

from pybpf import features as F
from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind

EXPECTED_KINDS = {
    "func": [Kind.INT, Kind.FUNC_PROTO, Kind.FUNC],
    "func_global": [Kind.INT, Kind.FUNC_PROTO, Kind.FUNC],
    "datasec": [Kind.INT, Kind.VAR, Kind.DATASEC],
    "qmark_datasec": [Kind.INT, Kind.VAR, Kind.DATASEC],
    "float": [Kind.FLOAT],
    "decl_tag": [Kind.INT, Kind.VAR, Kind.DECL_TAG],
    "type_tag": [Kind.INT, Kind.TYPE_TAG, Kind.PTR],
    "enum64": [Kind.ENUM64],
}


def test_one_probe_per_sanitize_feature():
    from pybpf.btf.fixup import FEATURES
    assert set(F._btf_probe_blobs()) == set(FEATURES) == set(EXPECTED_KINDS)


@pytest.mark.parametrize("feature", sorted(EXPECTED_KINDS))
def test_probe_blob_parses(feature):
    blob = F._btf_blob(F._btf_probe_blobs()[feature], F._STRINGS)
    spec = Spec.from_bytes(blob, name=feature)
    kinds = [spec.kind_of(i) for i in range(1, spec.type_count)]
    assert kinds == EXPECTED_KINDS[feature]
    for type_id in range(1, spec.type_count):
        spec[type_id]  # every type decodes


def test_probe_details():
    def spec_of(feature):
        return Spec.from_bytes(F._btf_blob(F._btf_probe_blobs()[feature], F._STRINGS))
    assert spec_of("func")[3].linkage == 0 and spec_of("func_global")[3].linkage == 1
    assert spec_of("datasec")[3].name == ".data" and spec_of("qmark_datasec")[3].name == "?.data"
    assert spec_of("decl_tag")[3].component_idx == -1
    assert spec_of("enum64")[1].size == 8


def test_int_btf_for_storage_maps():
    spec = Spec.from_bytes(F._int_btf())
    assert spec.kind_of(1) == Kind.INT and spec.size_of(1) == 4
