"""pybpf.arch_file / arch_object: the build of an object for a machine."""
from __future__ import annotations

import pytest

from pybpf import BPFError, arch_file, arch_object
from pybpf.arch import target_arch


def _touch(path):
    path.write_bytes(b"")
    return path


def test_machine_names_map_to_target_arch_names():
    assert target_arch("x86_64") == "x86"
    assert target_arch("aarch64") == "arm64"
    assert target_arch("mystery") == "mystery"


def test_per_arch_build_wins_and_single_build_stays(tmp_path):
    x86 = _touch(tmp_path / "probe.x86.bpf.o")
    arm = _touch(tmp_path / "probe.arm64.bpf.o")
    single = _touch(tmp_path / "plain.bpf.o")
    assert arch_object(tmp_path / "probe.bpf.o", "x86_64") == x86
    assert arch_object(str(tmp_path / "probe.bpf.o"), "aarch64") == arm
    assert arch_object(tmp_path / "plain.bpf.o", "aarch64") == single
    assert arch_object(x86, "aarch64") == x86          # a build named explicitly
    assert arch_object(tmp_path / "other.o", "aarch64") == tmp_path / "other.o"
    # the str form a start uses (no pathlib): the same answers
    assert arch_file(str(tmp_path / "probe.bpf.o"), "x86_64") == str(x86)
    assert arch_file(str(tmp_path / "plain.bpf.o"), "aarch64") == str(single)
    assert arch_file("other.o", "aarch64") == "other.o"


def test_missing_build_for_this_machine_names_object_and_builds(tmp_path):
    _touch(tmp_path / "probe.x86.bpf.o")
    _touch(tmp_path / "probe.arm64.bpf.o")
    with pytest.raises(BPFError, match=r"probe\.bpf\.o: no build for s390x .*arm64, x86"):
        arch_object(tmp_path / "probe.bpf.o", "s390x")


def test_absent_object_is_left_to_the_loader_to_report(tmp_path):
    assert arch_object(tmp_path / "gone.bpf.o", "x86_64") == tmp_path / "gone.bpf.o"


def test_checked_in_objects_resolve_for_both_arches():
    from pathlib import Path
    objects = Path(__file__).resolve().parents[2] / "bpf" / "objects"
    for machine, arch in (("x86_64", "x86"), ("aarch64", "arm64")):
        assert arch_object(objects / "trace_capabilities.bpf.o", machine).name == \
            f"trace_capabilities.{arch}.bpf.o"
        assert arch_object(objects / "trace_exec.bpf.o", machine).name == "trace_exec.bpf.o"
