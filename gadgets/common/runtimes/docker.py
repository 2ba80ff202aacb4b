"""Docker's containers from its own state: ``/var/lib/docker/containers/<id>/
config.v2.json`` (name, image, labels, running state and pid), or, when that
directory cannot be read (for example not mounted into pybpf's container),
the Engine API over the unix socket ``/run/docker.sock``
(``GET /containers/json``: ids, names, images, labels; no pids).

Kubernetes on docker (dockershim, cri-dockerd) labels each container with
the kubelet's io.kubernetes.* labels, marks sandboxes with
``io.kubernetes.docker.type=podsandbox`` and the containers' sandbox with
``io.kubernetes.sandbox.id``; the sandbox carries the pod's labels.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import List, Tuple

from .record import JSON_LIMIT, Problems, Record, list_dir, parse_json, read_json, str_dict

RUNTIME = "docker"
STATE_DIR = "var/lib/docker/containers"
SOCKET = "run/docker.sock"
API_TIMEOUT = 2.0   # seconds: a hung daemon must not hang a gadget


def read(root: Path, problems: Problems) -> List[Record]:
    state = root / STATE_DIR
    if state.is_dir():
        unreadable = len(problems.items)
        records = _from_state(state, problems)
        if records or len(problems.items) == unreadable:
            return records
    sock = root / SOCKET
    if sock.exists():
        return _from_api(sock, problems)
    return []


def _from_state(state: Path, problems: Problems) -> List[Record]:
    records = []
    for cid in list_dir(state, problems):
        path = state / cid / "config.v2.json"
        data = read_json(path, problems)
        if not data:
            continue
        st = data.get("State") if isinstance(data.get("State"), dict) else {}
        if not st.get("Running"):
            continue
        config = data.get("Config") if isinstance(data.get("Config"), dict) else {}
        pid = st.get("Pid")
        records.append(_record(
            str(data.get("ID") or cid), str(data.get("Name") or "").lstrip("/"),
            str(config.get("Image") or ""), str_dict(config.get("Labels")), str(path),
            pid if isinstance(pid, int) else 0))
    return records


def _record(cid: str, name: str, image: str, labels: dict, source: str, pid: int = 0) -> Record:
    r = Record(RUNTIME, cid, source, name=name, image=image, pid=pid, labels=labels)
    kind = labels.get("io.kubernetes.docker.type")
    r.sandbox = kind == "podsandbox"
    if r.sandbox:
        r.set_pod_labels(labels, source)
    r.set("sandbox_id", labels.get("io.kubernetes.sandbox.id"), source)
    return r


def _get(sock: Path, path: str) -> Tuple[int, bytes]:
    """(status, body) of an HTTP/1.0 GET over a unix socket (HTTP/1.0: the
    daemon answers without chunked encoding and closes the connection)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(API_TIMEOUT)
        conn.connect(str(sock))
        conn.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks, size = [], 0
        while size <= JSON_LIMIT + 65536:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[1].isdigit():
        raise OSError("not an HTTP answer")
    return int(status[1]), body


def _from_api(sock: Path, problems: Problems) -> List[Record]:
    try:
        status, body = _get(sock, "/containers/json")
    except OSError as exc:
        problems.note(sock, exc)
        return []
    if status != 200 or len(body) > JSON_LIMIT:
        problems.note(sock, f"GET /containers/json answered {status}")
        return []
    listing = parse_json(body, sock, problems)
    if not isinstance(listing, list):
        return []
    source = f"{sock} (API)"
    records = []
    for entry in listing:
        if not isinstance(entry, dict) or not entry.get("Id"):
            continue
        names = entry.get("Names") if isinstance(entry.get("Names"), list) else []
        name = str(names[0]).lstrip("/") if names else ""
        records.append(_record(str(entry["Id"]), name, str(entry.get("Image") or ""),
                               str_dict(entry.get("Labels")), source))
    return records
