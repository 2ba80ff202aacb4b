"""``pybpf containers``: what container discovery sees on this host, as
columns (short ids, one line per container) or ``-o json`` (one object per
container in ig's shape, plus pids, mount namespaces, cgroup, labels and
the source of each field), filtered like a gadget's containers."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, List

if TYPE_CHECKING:   # discovery is imported when the command runs, not when pybpf builds its parser
    from ..common.containers import Container, ContainerFilter

COLUMNS = (("RUNTIME", lambda c: c.runtime), ("NAME", lambda c: c.name),
           ("ID", lambda c: c.short_id), ("IMAGE", lambda c: c.image),
           ("PID", lambda c: str(c.pid)), ("MNTNS", lambda c: str(c.mntns_id)),
           ("K8S.NAMESPACE", lambda c: c.k8s.get("namespace", "")),
           ("K8S.PODNAME", lambda c: c.k8s.get("pod_name", "")),
           ("K8S.CONTAINERNAME", lambda c: c.k8s.get("container_name", "")))


def add_filter_options(p: argparse.ArgumentParser) -> None:
    """The container-selection options gadgets and this command share."""
    p.add_argument("--runtimes", metavar="LIST",
                   help="only containers of these runtimes (docker,containerd,cri-o,podman,cgroup)")
    p.add_argument("--k8s-namespace", metavar="NS", help="only pods of this Kubernetes namespace")
    p.add_argument("--k8s-podname", metavar="POD", help="only this Kubernetes pod")
    p.add_argument("--k8s-containername", metavar="NAME",
                   help="only containers with this name in their pod spec")
    p.add_argument("--k8s-selector", metavar="K=V[,K=V]", help="only pods with these labels")


def filter_from(args: argparse.Namespace) -> "ContainerFilter":
    from ..common.containers import ContainerFilter
    return ContainerFilter.parse(args.runtimes, args.k8s_namespace, args.k8s_podname,
                                 args.k8s_containername, args.k8s_selector)


def table(containers: List["Container"]) -> str:
    rows = [[head for head, _ in COLUMNS]] + [[get(c) for _, get in COLUMNS] for c in containers]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def run(args: argparse.Namespace) -> int:
    from ..common.containers import discover, select
    wanted = filter_from(args)
    found = discover()
    if args.container:
        found = select(args.container, found)
    found = wanted.apply(found)
    if args.output == "json":
        for c in found:
            sys.stdout.write(json.dumps(c.describe(), separators=(",", ":")) + "\n")
    else:
        print(table(found))
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("containers", help="list the containers running on this host",
                              description="List running containers as discovery sees them: "
                              "from docker, containerd (and its Kubernetes CRI), CRI-O and "
                              "podman state, else from cgroup paths.")
    p.add_argument("-o", "--output", choices=("columns", "json"), default="columns")
    p.add_argument("-c", "--container", action="append", metavar="NAME",
                   help="only this container (name, id or unique id prefix); repeatable")
    add_filter_options(p)
    p.set_defaults(func=run)
