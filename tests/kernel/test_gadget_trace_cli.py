"""`pybpf run GADGET -o json` for the gadgets whose other tests use the
library: bind, mount, capabilities, oomkill."""
import json
import os
import socket
import subprocess
import sys
import uuid

from test_gadget_trace_oomkill import HOG, memory_cgroup
from test_gadget_trace_support import CLIRun


def run_cli(args, trigger, match):
    cli = CLIRun(*args, "-o", "json", "--timeout", "120")
    try:
        line = cli.wait_for(trigger, match)
    finally:
        rc, err = cli.stop()
    assert line is not None, err
    assert rc == 0, err
    return json.loads(line)


def test_bind_cli():
    def trigger():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.close()

    e = run_cli(["trace_bind", "--pid", str(os.getpid())], trigger, lambda s: '"UDP"' in s)
    assert e["addr"] == "127.0.0.1" and e["protocol"] == "UDP" and e["ret"] == 0


def test_mount_cli(tmp_path):
    tag = f"pybpf{uuid.uuid4().hex[:8]}"

    def trigger():
        subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f"mount -t tmpfs {tag} {tmp_path}"], check=True)

    e = run_cli(["trace_mount", "--filter", f"source={tag}"], trigger, lambda s: tag in s)
    assert e["op"] == "mount" and e["fstype"] == "tmpfs" and e["target"] == str(tmp_path)


def test_capabilities_cli():
    from test_gadget_trace_support import require

    from pybpf_gadgets import trace_capabilities
    require(trace_capabilities.GADGET)
    def trigger():
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 82))
        except OSError:
            pass
        s.close()

    e = run_cli(["trace_capabilities", "--pid", str(os.getpid()), "--cap", "CAP_NET_BIND_SERVICE"],
                trigger, lambda s: s.startswith("{"))
    assert e["cap"] == "CAP_NET_BIND_SERVICE" and e["syscall"] == "bind"


def test_oomkill_cli():
    cg = memory_cgroup(f"pybpfoom{uuid.uuid4().hex[:8]}")

    def join():
        with open(cg / "cgroup.procs", "w") as fh:
            fh.write(str(os.getpid()))

    def trigger():
        subprocess.run([sys.executable, "-c", HOG], preexec_fn=join, stderr=subprocess.DEVNULL,
                       timeout=60)

    try:
        e = run_cli(["trace_oomkill"], trigger, lambda s: s.startswith("{"))
    finally:
        cg.rmdir()
    assert e["victim"]["comm"].startswith("python") and e["pages"]["rss"] > 0


def test_missing_hook_is_named():
    import pytest

    from pybpf_gadgets import trace_exec
    from pybpf_gadgets.common.errors import GadgetUnavailableError
    from pybpf_gadgets.common.gadget import Hook
    from pybpf_gadgets.common.session import open_session

    g = trace_exec.GADGET.replace(hooks=[Hook("tracepoint", "nosuch/tracepoint_x")])
    ok, why = g.can_run()
    assert not ok and why == "tracepoint nosuch/tracepoint_x does not exist on this kernel"
    with pytest.raises(GadgetUnavailableError, match="trace_exec: tracepoint nosuch/"):
        open_session(g).start()


def test_hook_sets_pick_the_first_usable():
    from pybpf_gadgets import trace_capabilities
    from pybpf_gadgets.common.gadget import Hook, HookSet
    from pybpf_gadgets.common.probe import choose_hook_set
    from pybpf_gadgets.common.session import open_session

    g = trace_capabilities.GADGET
    missing = HookSet((Hook("tracepoint", "nosuch/tp"),), ("kprobe_cap_capable",))
    g2 = g.replace(hook_sets=(missing,) + g.hook_sets)
    chosen, _ = choose_hook_set(g2)
    assert chosen in g.hook_sets
    with open_session(g2, pid=os.getpid()) as run:
        assert run.hook_set is chosen
        loaded = set(run.collection.programs)
    others = {p for s in g.hook_sets if s is not chosen for p in s.programs} - set(chosen.programs)
    assert set(chosen.programs) <= loaded and not (others & loaded)


def test_a_start_probes_features_only_when_refused():
    """A start loads no feature probe (pybpf.features: a BPF_PROG_LOAD each) before the
    gadget's own load; once a load fails, the full check names what is missing (here the
    object) instead of the refusal."""
    import pytest

    from pybpf_gadgets import trace_exec
    from pybpf_gadgets.common.errors import GadgetUnavailableError
    from pybpf_gadgets.common.probe import feature_available
    from pybpf_gadgets.common.session import open_session

    feature_available.cache_clear()
    with open_session(trace_exec.GADGET, timeout=0.1) as run:
        list(run)
    assert feature_available.cache_info().currsize == 1  # "btf": a file's existence
    missing = f"pybpf-no-such-object-{os.getpid()}"
    with pytest.raises(GadgetUnavailableError, match=f"trace_exec: object {missing}.bpf.o is missing"):
        open_session(trace_exec.GADGET.replace(object=missing)).start()
