"""CRI-O's containers from containers/storage (see storage.py): CRI-O keeps
what Kubernetes told it in each container's OCI annotations:
io.kubernetes.cri-o.ContainerType (sandbox/container), .SandboxID,
.ImageName, .Labels (a JSON object: the container's labels; on a sandbox,
the pod's labels), and the kubelet's io.kubernetes.{pod.name,
pod.namespace, pod.uid, container.name}.

CRI-O is not packaged on the development machines: this reader is checked
against recorded state files (tests/unit/fixtures/containers).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

from . import storage
from .record import Problems, Record, str_dict

RUNTIME = "cri-o"
CRIO = "io.kubernetes.cri-o."


def read(root: Path, problems: Problems) -> List[Record]:
    records = []
    for e in storage.entries(root, problems):
        notes = e.annotations
        if e.manager == storage.LIBPOD or CRIO + "ContainerType" not in notes:
            continue
        source = e.spec_path
        try:
            labels = str_dict(json.loads(notes.get(CRIO + "Labels") or "{}"))
        except ValueError:
            problems.note(source, f"annotation {CRIO}Labels is not JSON")
            labels = {}
        r = Record(RUNTIME, e.id, source, image=notes.get(CRIO + "ImageName", ""), labels=labels)
        r.k8s_from_labels(notes, source)
        r.set("name", r.k8s.get("container_name"), source)
        r.set("name", e.names[0] if e.names else "", e.source)
        r.set("cgroup_path", e.cgroup_path, source)
        r.set("pid", e.pid, e.pid_path)
        r.sandbox = notes[CRIO + "ContainerType"] == "sandbox"
        if r.sandbox:
            r.set_pod_labels(labels, source)
        else:
            r.set("sandbox_id", notes.get(CRIO + "SandboxID"), source)
        records.append(r)
    return records
