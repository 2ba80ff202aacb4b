"""The runner's retry rule, with vm.boot replaced by canned outcomes (no qemu)."""
from __future__ import annotations

from pathlib import Path

import pytest

from vmtests import runner, vm
from vmtests.kernels import Kernel


@pytest.fixture
def kernel(tmp_path):
    return Kernel("6.1", "6.1.0-56-amd64", "6.1.192-2", tmp_path)


def scripted(monkeypatch, outcomes):
    calls = []

    def fake_boot(kernel, rundir: Path, checkout, pytest_args, **kwargs):
        calls.append(rundir.name)
        return outcomes[len(calls) - 1]

    monkeypatch.setattr(vm, "boot", fake_boot)
    return calls


def test_a_vm_that_never_reports_is_booted_once_more(monkeypatch, kernel, tmp_path):
    calls = scripted(monkeypatch, [
        vm.Boot(status="no-report", detail="no job start within 120 s", total_s=120.0),
        vm.Boot(status="ok", exit_code=0, release="6.1.0-56-amd64", boot_s=6.0, run_s=30.0,
                total_s=37.0),
    ])
    result = runner.run_one(kernel, runner.Options(pytest_args=[]), tmp_path / "run", None)
    assert calls == ["boot1", "boot2"]
    assert (result.status, result.attempts, result.total_s) == ("ok", 2, 157.0)
    assert (result.boot_s, result.run_s) == (6.0, 30.0)


def test_retries_are_bounded(monkeypatch, kernel, tmp_path):
    never = vm.Boot(status="init-failed", total_s=1.0)
    calls = scripted(monkeypatch, [never] * 5)
    result = runner.run_one(kernel, runner.Options(pytest_args=[], retries=2), tmp_path, None)
    assert len(calls) == 3 and result.status == "init-failed" and result.attempts == 3


@pytest.mark.parametrize("first", [
    vm.Boot(status="timeout", boot_s=5.0, total_s=900.0),
    vm.Boot(status="failed", exit_code=1, boot_s=5.0, run_s=20.0, total_s=26.0),
    vm.Boot(status="crashed", boot_s=5.0, total_s=12.0),
    vm.Boot(status="aborted", total_s=1.0),
], ids=["timeout", "failed", "crashed", "aborted"])
def test_a_vm_that_ran_is_not_retried(monkeypatch, kernel, tmp_path, first):
    calls = scripted(monkeypatch, [first, vm.Boot(status="ok", exit_code=0)])
    result = runner.run_one(kernel, runner.Options(pytest_args=[]), tmp_path, None)
    assert len(calls) == 1 and result.status == first.status
