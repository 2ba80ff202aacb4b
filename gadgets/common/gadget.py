"""The description of one gadget: what it is, which BPF object it loads,
its parameters, the hooks it needs, its fields and how they are presented.

A gadget module (gadgets/trace_exec.py, ...) declares ``GADGET = Gadget(...)``
and ``run = common.session.run_function(GADGET)`` (its library form); it
holds no command-line code: gadgets.cli builds `pybpf run GADGET` from the
declaration, and common.session runs every kind of gadget the same way.
"""
from __future__ import annotations

import os

from pybpf.records import FrozenRecord, Record

from .options import flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from .options import Parser

CATEGORIES = ("trace", "top", "profile", "snapshot")


class Hook(FrozenRecord):
    """One kernel hook a program attaches to.

    ``kind`` is "tracepoint", "raw_tp", "tp_btf", "kprobe", "fentry",
    "perf_event", "socket", "cgroup" or "iter"; ``target`` names it
    ("syscalls/sys_enter_execve" for a tracepoint).
    """

    __slots__ = ("kind", "target")

    kind: str
    target: str

    def __init__(self, kind: str, target: str = "") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "target", target)

    def __str__(self) -> str:
        return f"{self.kind}/{self.target}" if self.target else self.kind


class HookSet(FrozenRecord):
    """One way to implement a gadget: the hooks it needs and the programs
    that use them. A gadget with several sets runs the first whose hooks all
    exist (list the best first); the other sets' programs are not loaded."""

    __slots__ = ("hooks", "programs")

    hooks: Tuple[Hook, ...]
    programs: Tuple[str, ...]

    def __init__(self, hooks: Tuple[Hook, ...], programs: Tuple[str, ...]) -> None:
        object.__setattr__(self, "hooks", hooks)
        object.__setattr__(self, "programs", programs)

    def __str__(self) -> str:
        return ", ".join(map(str, self.hooks))


class Param(FrozenRecord):
    """A gadget-specific option (``--paths``): ``parse`` checks and converts
    its value (common.options: ``flag`` for a switch, ``integer``,
    ``duration``, ``choice``...). ``constant`` is the .rodata variable it sets
    before load, when the kernel side needs it."""

    __slots__ = ("name", "help", "parse", "default", "constant", "aliases")

    name: str
    help: str
    parse: Parser
    default: Any
    constant: Optional[str]
    #: other spellings on the command line (BCC's ``-x``, ig's ``--max-entries``)
    aliases: Tuple[str, ...]

    def __init__(
            self,
            name: str,
            help: str,
            parse: Parser = flag,
            default: Any = None,
            constant: Optional[str] = None,
            aliases: Tuple[str, ...] = (),
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "help", help)
        object.__setattr__(self, "parse", parse)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "constant", constant)
        object.__setattr__(self, "aliases", aliases)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def options(self) -> Tuple[str, ...]:
        """Every spelling, short ones first."""
        short = tuple(a for a in self.aliases if not a.startswith("--"))
        return short + (self.option,) + tuple(a for a in self.aliases if a.startswith("--"))

    @property
    def is_switch(self) -> bool:
        return self.parse is flag


def get_path(event: Any, path: str) -> Any:
    """The value a field's dotted path names in a presented event:
    ``event["proc"]["comm"]`` for "proc.comm"; None when absent."""
    value = event
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class Field(FrozenRecord):
    """One field of the presented event, by dotted path (``proc.comm``).

    ``width`` is the column width (negative: right-aligned), 0 for a column
    that takes the rest of the line; ``column`` says whether it is shown in
    the default column set. ``type`` is what the field holds (str, int,
    float, bool, list, dict): ``--filter`` values are checked against it.
    ``view`` turns the text into what a column shows (None: the text).
    """

    __slots__ = ("name", "help", "width", "column", "header", "type", "view")

    name: str
    help: str
    width: int
    column: bool
    header: Optional[str]
    type: type
    #: in columns, what the cell shows of the field's text (a time column's clock)
    view: Optional[Callable[[str], str]]

    def __init__(
            self,
            name: str,
            help: str,
            width: int = 10,
            column: bool = False,
            header: Optional[str] = None,
            type: type = str,
            view: Optional[Callable[[str], str]] = None,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "help", help)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "view", view)

    @property
    def title(self) -> str:
        return self.header or self.name.rsplit(".", 1)[-1].upper()


#: Fields every event carries (filled by gadget_fill_proc and enrichment).
COMMON_FIELDS: Tuple[Field, ...] = (
    Field("timestamp", "wall-clock time of the event (ISO 8601, UTC)", 27),
    Field("timestamp_raw", "CLOCK_BOOTTIME nanoseconds", 20, type=int),
    Field("runtime.containerName", "container name (empty on the host)", 16, True, "CONTAINER"),
    Field("runtime.containerId", "container id (runtime id, or cgroup path for a bare cgroup; "
          "columns show 12 characters)", 13, header="CONTAINERID"),
    Field("runtime.containerImageName", "container image", 24, header="IMAGE"),
    Field("runtime.runtimeName", "docker, containerd, cri-o, podman or cgroup", 10,
          header="RUNTIME"),
    Field("k8s.namespace", "Kubernetes namespace of the pod", 16, header="K8S.NAMESPACE"),
    Field("k8s.podName", "Kubernetes pod", 20, header="K8S.PODNAME"),
    Field("k8s.containerName", "container name in the pod spec", 16, header="K8S.CONTAINERNAME"),
    Field("k8s.podLabels", "the pod's labels", 24, header="K8S.PODLABELS"),
    Field("proc.comm", "command name", 16, True, "COMM"),
    Field("proc.pid", "process id (thread group id)", -7, True, "PID", type=int),
    Field("proc.tid", "thread id", -7, type=int),
    Field("proc.ppid", "parent process id", -7, type=int),
    Field("proc.pcomm", "parent command name", 16),
    Field("proc.uid", "user id", -6, type=int),
    Field("proc.gid", "group id", -6, type=int),
    Field("proc.mntns_id", "mount namespace inode number", -11, type=int),
    Field("proc.cgroup_id", "cgroup v2 id", -11, type=int),
)


class Gadget(Record):
    """A gadget: metadata plus the hooks needed and the event presentation.

    ``present(raw, ctx)`` turns the BTF-decoded event dict into the
    presented event (nested dicts; the framework adds timestamp, proc and
    container). ``fields`` lists the gadget's own fields; ``all_fields``
    adds COMMON_FIELDS. ``other_processes`` names presented sub-dicts that
    describe another process with a ``mntns_id`` (trace_oomkill's
    "victim"); each gets its own ``runtime`` and ``k8s`` entries. ``needs`` names kernel
    features checked by can_run() (probe.feature_available: "btf",
    "ringbuf", "bpf_loop"). ``hooks`` are always needed; ``hook_sets`` are
    alternatives probed at start (probe.choose_hook_set).

    How it runs (common.session): ``session`` is the Session class, when not
    the one of its category (EventSession for trace, MapSession otherwise);
    ``prepare(session, spec)`` changes the ObjectSpec before load (constants
    or programs that depend on parameters or on the kernel); ``collect(session)``
    reads the rows of a map-reading gadget (a top gadget each interval, a
    profile at the end, a snapshot once); ``tick(session)`` is called about
    once a second while a profile waits.

    How it is shown (gadgets.cli): JSON lines and columns of ``fields`` for
    every gadget; ``default_fields`` replaces the default column set;
    ``outputs`` maps more ``-o`` names (or "columns", to replace the table)
    to ``write(session, rows, stream)``.
    """

    __slots__ = ("name", "category", "description", "object", "hooks", "fields", "params",
                 "present", "event_struct", "ringbuf", "raw_members", "other_processes", "needs",
                 "hook_sets", "session", "prepare", "collect", "tick", "default_fields", "outputs")

    name: str
    category: str
    description: str
    object: str
    hooks: List[Hook]
    fields: List[Field]
    params: List[Param]
    present: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]]
    event_struct: str
    ringbuf: str
    raw_members: Tuple[str, ...]
    other_processes: Tuple[str, ...]
    needs: Tuple[str, ...]
    hook_sets: Tuple[HookSet, ...]
    session: Optional[type]
    prepare: Optional[Callable[[Any, Any], None]]
    collect: Optional[Callable[[Any], List[Dict[str, Any]]]]
    tick: Optional[Callable[[Any], None]]
    default_fields: Tuple[str, ...]
    outputs: Dict[str, Callable[[Any, List[Dict[str, Any]], Any], None]]

    def __init__(
            self,
            name: str,
            category: str,
            description: str,
            object: str,
            hooks: List[Hook],
            fields: Optional[List[Field]] = None,
            params: Optional[List[Param]] = None,
            present: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None,
            event_struct: str = "event",
            ringbuf: str = "events",
            raw_members: Tuple[str, ...] = (),
            other_processes: Tuple[str, ...] = (),
            needs: Tuple[str, ...] = ("btf", "ringbuf"),
            hook_sets: Tuple[HookSet, ...] = (),
            session: Optional[type] = None,
            prepare: Optional[Callable[[Any, Any], None]] = None,
            collect: Optional[Callable[[Any], List[Dict[str, Any]]]] = None,
            tick: Optional[Callable[[Any], None]] = None,
            default_fields: Tuple[str, ...] = (),
            outputs: Optional[Dict[str, Callable[[Any, List[Dict[str, Any]], Any], None]]] = None,
    ) -> None:
        self.name = name
        self.category = category
        self.description = description
        self.object = object
        self.hooks = hooks
        self.fields = list() if fields is None else fields
        self.params = list() if params is None else params
        self.present = present
        self.event_struct = event_struct
        self.ringbuf = ringbuf
        self.raw_members = raw_members
        self.other_processes = other_processes
        self.needs = needs
        self.hook_sets = hook_sets
        self.session = session
        self.prepare = prepare
        self.collect = collect
        self.tick = tick
        self.default_fields = default_fields
        self.outputs = dict() if outputs is None else outputs
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"gadget {self.name}: category {self.category!r} not in {CATEGORIES}")

    @property
    def all_fields(self) -> List[Field]:
        own = {f.name for f in self.fields}
        return [f for f in COMMON_FIELDS if f.name not in own] + list(self.fields)

    def default_columns(self) -> List[Field]:
        """The columns shown when ``--fields`` names none: ``default_fields``,
        else every field marked as a column."""
        if self.default_fields:
            return [self.field(name) for name in self.default_fields]
        return [f for f in self.all_fields if f.column]

    def field(self, name: str) -> Field:
        for f in self.all_fields:
            if f.name == name:
                return f
        from .errors import GadgetError
        raise GadgetError(f"gadget {self.name}: unknown field {name!r} "
                          f"(known: {', '.join(f.name for f in self.all_fields)})")

    def object_location(self) -> Any:
        """The compiled object, this machine's build of it (pybpf.arch_file):
        bpf/objects in a checkout, the package data of pybpf.objects once
        installed. The file's path (a str), or inside a zip archive (the
        pybpf.pyz zipapp) a zipfile.Path. A start goes through here: a str
        path needs no pathlib."""
        from pybpf import arch_file

        name = f"{self.object}.bpf.o"
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
        here = arch_file(os.path.join(top, "bpf", "objects", name))
        if os.path.exists(here):
            return here
        import pybpf.objects  # installed only: a checkout run has no such package
        for folder in pybpf.objects.__path__:  # package data as files: no importlib.resources
            if os.path.isdir(folder):
                return arch_file(os.path.join(folder, name))
        from importlib.resources import files  # inside a zip archive

        package = files("pybpf.objects")
        from pybpf.arch import target_arch
        built = package / f"{self.object}.{target_arch()}.bpf.o"
        return built if built.exists() else package / name

    def object_path(self) -> Any:
        """object_location() as a pathlib.Path (or the zipfile.Path inside a zip
        archive): both have ``exists()``, ``name`` and ``read_bytes()``."""
        where = self.object_location()
        if isinstance(where, str):
            from pathlib import Path
            return Path(where)
        return where

    def object_spec(self) -> Any:
        """The parsed object (a pybpf.ObjectSpec)."""
        import pybpf

        where = self.object_location()
        if isinstance(where, str):
            return pybpf.ObjectSpec.from_file(where)
        return pybpf.ObjectSpec.from_bytes(where.read_bytes(), str(where))

    def can_run(self) -> Tuple[bool, str]:
        """(True, "") when this kernel and these privileges allow the gadget,
        else (False, one-line reason naming what is missing)."""
        from . import probe
        return probe.can_run(self)
