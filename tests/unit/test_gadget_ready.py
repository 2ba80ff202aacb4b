"""The readiness check's rule on a synthetic /proc: a sibling in the same
cgroup with an attached BPF program makes the pod ready."""
import os

from pybpf_gadgets.common import ready


def fake_proc(tmp_path, procs):
    """procs: pid -> (cgroup path, fd link targets)."""
    proc = tmp_path / "proc"
    for pid, (cg, links) in procs.items():
        d = proc / str(pid) / "fd"
        d.mkdir(parents=True)
        (proc / str(pid) / "cgroup").write_text(f"0::{cg}\n")
        for i, target in enumerate(links):
            os.symlink(target, d / str(i))
    return str(proc)


def test_attached_needs_a_program_and_an_attachment():
    assert ready.attached({"anon_inode:bpf-prog", "anon_inode:bpf_link"})
    assert ready.attached({"anon_inode:bpf-prog", "anon_inode:[perf_event]"})
    assert not ready.attached({"anon_inode:bpf-prog", "anon_inode:bpf-map"})
    assert not ready.attached({"anon_inode:bpf_link"})


def test_ready_looks_at_its_own_cgroup_only(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "getpid", lambda: 10)
    gadget = ["anon_inode:bpf-prog", "anon_inode:bpf_link", "/dev/null"]
    proc = fake_proc(tmp_path, {10: ("/pod/a", []), 11: ("/pod/a", ["/dev/null"]),
                                20: ("/other", gadget)})
    assert not ready.ready(proc)
    proc2 = fake_proc(tmp_path / "2", {10: ("/pod/a", []), 12: ("/pod/a", gadget)})
    assert ready.ready(proc2)
