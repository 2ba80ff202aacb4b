"""pybpf in a container, and as the pod of deploy/daemonset.yaml: the image
is built here from local files (deploy/build-image.sh, Containerfile), run
privileged in the host's pid namespace, and must trace an exec in a
sibling container with that container's name. The DaemonSet's pod template
runs unchanged under `podman kube play` (wrapped into a Pod: podman 4.3
does not play DaemonSets), next to a pod played from Kubernetes YAML."""
import json
import subprocess
import textwrap
import uuid

import pytest
from runtimes_support import app_pod_yaml, sh, unique, wait_until
from test_gadget_trace_support import ROOT

pytestmark = pytest.mark.slow

DAEMONSET = ROOT / "deploy" / "daemonset.yaml"
RUN_FLAGS = ["--privileged", "--pid=host", "--cgroupns=host",
             "-v", "/sys/kernel/tracing:/sys/kernel/tracing", "-v", "/sys/fs/bpf:/sys/fs/bpf",
             "-v", "/run:/run", "-v", "/var/lib/containers:/var/lib/containers:ro"]


@pytest.fixture(scope="session")
def pybpf_image(podman):
    tag = f"localhost/pybpf-test:{uuid.uuid4().hex[:8]}"
    sh("bash", str(ROOT / "deploy" / "build-image.sh"), tag, timeout=900)
    try:
        yield tag
    finally:
        sh("podman", "rmi", "-f", tag, check=False)


def _image_files(tag):
    """Every regular file of the image, from an export of a (never started) container."""
    name = unique("ls")
    sh("podman", "create", "--name", name, tag)
    try:
        out = subprocess.run(f"podman export {name} | tar -t", shell=True, check=True,
                             capture_output=True, text=True).stdout.split()
    finally:
        sh("podman", "rm", "-f", name, check=False)
    return out


def test_image_holds_python_and_pybpf_only(pybpf_image):
    files = [f[2:] if f.startswith("./") else f for f in _image_files(pybpf_image)]
    tops = {f.split("/")[0] for f in files if f}
    assert tops <= {"usr", "lib", "lib64", "opt", "tmp", "bin", "sbin", "etc", "proc", "sys",
                    "dev", "run"}
    dists = {f.split("/")[2].split("-")[0] for f in files
             if f.startswith("opt/pybpf/") and ".dist-info/" in f}
    assert dists == {"pybpf", "pyelftools", "construct"}
    names = {f.rsplit("/", 1)[-1] for f in files}
    for tool in ("gcc", "cc", "clang", "sh", "bash", "pip", "apt", "ld"):
        assert tool not in names, tool


def exec_until_logged(exec_in, logs, timeout=120):
    """Exec `echo TAG` through ``exec_in`` until a JSON line of ``logs()``
    holds TAG; that event."""
    tag = f"pybpf-img-{uuid.uuid4().hex[:8]}"
    box = {}

    def seen():
        exec_in("/bin/echo", tag)
        for line in logs().splitlines():
            if tag in line and line.startswith("{"):
                event = json.loads(line)
                if event["proc"]["comm"] == "echo":   # not the host's `podman exec ... TAG`
                    box["e"] = event
                    return True
        return False
    wait_until(seen, timeout, "the exec in the tracer's log")
    return box["e"]


def podman_logs(name):
    return sh("podman", "logs", name, check=False).stdout


def test_image_traces_a_sibling_container(podman, pybpf_image):
    tracer, sibling = unique("tr"), unique("sib")
    podman.run(sibling)
    try:
        sh("podman", "run", "-d", "--name", tracer, *RUN_FLAGS, pybpf_image,
           "run", "trace_exec", "-o", "json", "-c", sibling, "--timeout", "300")
        event = exec_until_logged(lambda *cmd: podman.exec(sibling, *cmd),
                                  lambda: podman_logs(tracer))
        info = podman.inspect(sibling)
    finally:
        podman.rm(tracer, sibling)
    assert event["runtime"]["containerName"] == info["Name"]
    assert event["runtime"]["containerId"] == info["Id"]
    assert event["runtime"]["runtimeName"] == "podman"


def daemonset_pod(name, image):
    """deploy/daemonset.yaml's pod template, unchanged but for its image, as a Pod."""
    text = DAEMONSET.read_text()
    template = text[text.index("\n  template:\n") + len("\n  template:\n"):]
    body = textwrap.dedent(template)
    assert body.startswith("metadata:\n")
    body = body.replace("metadata:\n", f"metadata:\n  name: {name}\n", 1)
    body = body.replace("image: localhost/pybpf:dev", f"image: {image}")
    return "apiVersion: v1\nkind: Pod\n" + body


def test_daemonset_pod_under_kube_play(podman, pybpf_image, tmp_path):
    """The DaemonSet's pod traces an exec in a sibling pod (played from
    Kubernetes YAML); its readiness probe passes once the gadget is attached."""
    pod = unique("ds")
    yaml = tmp_path / "ds-pod.yaml"
    yaml.write_text(daemonset_pod(pod, pybpf_image))
    app = unique("app")
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text(app_pod_yaml(app, podman.image))
    podman.kube_play(app_yaml)
    try:
        podman.kube_play(yaml)
        tracer = f"{pod}-pybpf"

        def ready():
            return sh("podman", "exec", tracer, "/usr/bin/python3", "-m", "pybpf_gadgets.common.ready",
                      check=False).returncode == 0
        wait_until(ready, 120, "the readiness probe")
        event = exec_until_logged(lambda *cmd: podman.exec(f"{app}-cart", *cmd),
                                  lambda: podman_logs(tracer))
        info = podman.inspect(f"{app}-cart")
    finally:
        podman.kube_down(yaml)
        podman.kube_down(app_yaml)
    assert event["runtime"]["containerName"] == f"{app}-cart"
    assert event["runtime"]["containerId"] == info["Id"]


METRICS_PORT = 9431


def test_daemonset_annotations_point_at_the_metrics_container():
    """prometheus.io/port and /path name what the `metrics` container serves."""
    text = DAEMONSET.read_text()
    assert 'prometheus.io/scrape: "true"' in text
    assert f'prometheus.io/port: "{METRICS_PORT}"' in text
    assert "prometheus.io/path: /metrics" in text
    metrics = text[text.index("- name: metrics\n"):]
    assert f'"--listen", ":{METRICS_PORT}"' in metrics
    assert f"containerPort: {METRICS_PORT}" in metrics


def test_daemonset_pod_serves_metrics_of_a_sibling_pod(podman, pybpf_image, tmp_path):
    """The pod's `metrics` container (pybpf serve) counts execs in a sibling
    pod by that container's name; /healthz answers ok."""
    pod, app = unique("dsm"), unique("app")
    yaml, app_yaml = tmp_path / "ds-pod.yaml", tmp_path / "app.yaml"
    yaml.write_text(daemonset_pod(pod, pybpf_image))
    app_yaml.write_text(app_pod_yaml(app, podman.image))
    scrape = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
              f"'http://127.0.0.1:{METRICS_PORT}' + sys.argv[1], timeout=5).read().decode())")
    label = f'container="{app}-cart"'

    def get(path):
        return sh("podman", "exec", f"{pod}-metrics", "/usr/bin/python3", "-c", scrape, path,
                  check=False).stdout

    podman.kube_play(app_yaml)
    try:
        podman.kube_play(yaml)
        wait_until(lambda: get("/healthz") == "ok\n", 120, "the metrics endpoint")

        def counted():
            podman.exec(f"{app}-cart", "/bin/true")
            return any(line.startswith("pybpf_trace_exec_events_total{") and label in line
                       for line in get("/metrics").splitlines())
        wait_until(counted, 120, f"pybpf_trace_exec_events_total{{{label}}} on /metrics")
    finally:
        podman.kube_down(yaml)
        podman.kube_down(app_yaml)
