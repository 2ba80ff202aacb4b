"""A trace gadget's own fields declared once, as expressions over its event's members.

A gadget gives ``present=Declared({"fd": "ret if ret >= 0 else -1", ...}, names)``:
each field's Python expression over the raw members of its event struct (the
names it reads that are not in ``names``, the helpers and constants it calls),
in the order the fields are shown; a field named ``"target.pid"`` is ``"pid"`` of
the dict under ``"target"`` (the fields of one such dict declared together). An
expression reads names only (it binds none: no comprehension, lambda or ``:=``; a
helper does that), and a member named as a builtin (``type``) is listed in
``builtin_members``. From that one declaration three functions are generated, each
once per run:

- the dict (``declared(raw)``, what a hand-written ``present`` returned): the
  general path (filters, ``--fields``, columns, yaml, library use);
- the finished JSON line (:meth:`Declared.json_line`, gadgets.common.lines): the
  members the expressions read unpacked from the record into locals (the
  decoder's checked expression, pybpf.decoders: StructDecoder.members), the
  process part's kept text, and one f-string; the text is what the general path
  writes, and a value of another type than its Field declares (or a process part
  whose keys a field would replace) makes that event take the general path;
- the column row (:meth:`Declared.column_line`): the same, computing only the
  fields of the columns shown.

Generated source holds only what the gadget's own module declares (field names,
checked as identifiers or two joined by a dot, and its expressions) and fixed names; the decoder's part
comes from pybpf.decoders already checked, as a function, and offsets and
helpers reach the code as values, never as text.
"""
from __future__ import annotations

import _ast
import builtins
from json.encoder import encode_basestring_ascii

from pybpf.decoders import walk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple


def _plain(name: str) -> bool:
    """An ASCII identifier not starting with "_" (those are the generated code's)."""
    return name.isascii() and name.isidentifier() and name[0] != "_"


def _nodes(expression: str) -> Iterator[Any]:
    """The nodes of an expression, in ast.walk's order (breadth first). They come from
    compile's parser itself (PyCF_ONLY_AST; _ast is the C module that the ast module
    re-exports): importing ast, a few milliseconds of every start, would only give its
    walk."""
    return walk(compile(expression, "<declared field>", "eval", _ast.PyCF_ONLY_AST))


def _names_read(expression: str) -> Iterator[str]:
    """The names an expression reads, in the order of their nodes. An expression that
    binds a name (a comprehension's or a lambda's variable, ``:=``) is refused: its
    variables would be taken for members."""
    for node in _nodes(expression):
        if isinstance(node, _ast.arg) or (isinstance(node, _ast.Name)
                                          and not isinstance(node.ctx, _ast.Load)):
            raise ValueError(f"Declared: {expression!r} binds a name; "
                             "call a helper that does it instead")
        if isinstance(node, _ast.Name):
            yield node.id


def _grouped(fields: Iterable[str]) -> List[Tuple[str, List[str]]]:
    """Each key of the dict made, with its fields in order: a field "target.pid" is
    "pid" in the dict under "target", and the fields of one such dict go together."""
    groups: List[Tuple[str, List[str]]] = []
    for field in fields:
        parts = field.split(".")
        if len(parts) > 2 or not all(_plain(part) for part in parts):
            raise ValueError(f"Declared: field name {field!r} is not a plain identifier"
                             " or two joined by a dot")
        last = groups[-1] if groups else None
        if last and last[0] == parts[0] and len(parts) == 2 and last[1][0] != parts[0]:
            last[1].append(field)
        elif any(top == parts[0] for top, _ in groups):
            raise ValueError(f"Declared: {field!r} is not beside the fields of {parts[0]!r}")
        else:
            groups.append((parts[0], [field]))
    return groups


_RESERVED = frozenset(("raw", "record", "buf", "head"))  # the generated functions' locals
_STAMPS = frozenset(("timestamp", "timestamp_raw"))


class Declared:
    """A gadget's fields as expressions (see the module); callable as ``present(raw)``."""

    def __init__(self, fields: Mapping[str, str], names: Mapping[str, Any],
                 builtin_members: Sequence[str] = ()) -> None:
        """``builtin_members``: members whose names are also builtins' (an event's
        ``type``): the expressions read the member under that name, not the builtin."""
        if not fields:
            raise ValueError("Declared: no fields")
        self.fields = dict(fields)
        self.names = dict(names)
        members: List[str] = []
        shadowing = frozenset(builtin_members)
        self._reads: Dict[str, Set[str]] = {f: set() for f in self.fields}
        #: builtins the expressions read (a member of the same name would be shadowed)
        self._builtins: Set[str] = set()
        self._groups = _grouped(self.fields)
        #: the keys of the dict made
        self.tops = frozenset(top for top, _ in self._groups)
        self._local = {f: f"_f{i}" for i, f in enumerate(self.fields)}
        for field, expression in self.fields.items():
            for name in _names_read(expression):
                self._reads[field].add(name)
                if name in self.names or name in members:
                    continue
                if hasattr(builtins, name) and name not in shadowing:
                    self._builtins.add(name)
                    continue
                if not _plain(name) or name in _RESERVED:
                    raise ValueError(f"Declared: member name {name!r} in {field!r}")
                members.append(name)
        #: the event's members the expressions read, in their first use's order
        self.members = tuple(members)
        self._present: Callable[[Dict[str, Any]], Dict[str, Any]] = self._first

    def __call__(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return self._present(raw)

    def _shadowed(self, members: Iterable[str]) -> None:
        """Refuse an event member that the expressions would read as the builtin of its
        name: it is to be listed in ``builtin_members``."""
        clash = sorted(self._builtins.intersection(members))
        if clash:
            raise ValueError(f"Declared: the event's member {clash[0]!r} is read as the "
                             "builtin of that name; list it in builtin_members")

    def _first(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        self._shadowed(raw)
        lines = ["def present(raw):"]
        lines += [f"    {m} = raw[{m!r}]" for m in self.members]
        values = []
        for top, fields in self._groups:
            if fields == [top]:
                values.append(f"{top!r}: ({self.fields[top]})")
            else:
                values.append(f"{top!r}: {{" + ", ".join(
                    f"{f.split('.')[1]!r}: ({self.fields[f]})" for f in fields) + "}")
        lines.append("    return {" + ", ".join(values) + "}")
        self._present = self._compiled(lines, {}, "present")
        return self._present(raw)

    def _compiled(self, lines: List[str], env: Dict[str, Any], name: str) -> Any:
        namespace = dict(self.names, **env)
        exec(compile("\n".join(lines) + "\n", f"<{name} of declared fields>", "exec"),  # noqa: S102
             namespace)
        return namespace[name]

    def _prologue(self, decoder: Any, fields: List[str], stamped: bool, kept: Dict[bytes, Any],
                  new_head: Callable[[Any], Any], general: Callable[[Any], str]
                  ) -> Optional[Tuple[List[str], Dict[str, Any], str]]:
        """The start of a generated line's body (members of ``fields`` in locals, the time
        stamp in the local named third when ``stamped``, the process part in ``head``),
        the values it names, or None when the decoder cannot give the members alone."""
        self._shadowed(decoder.spans)
        reads = [m for m in self.members if any(m in self._reads[f] for f in fields)]
        raw = [m for m in reads if m in decoder.raw]
        decoded = [m for m in reads if m not in decoder.raw]
        stamp = "timestamp" if "timestamp" in decoded else "_ts"
        wanted = (["timestamp"] if stamped and stamp == "_ts" else []) + decoded
        off, size = decoder.spans["proc"]
        env: Dict[str, Any] = {"_proc": slice(off, off + size), "_kept": kept.get,
                               "_new_head": new_head, "_general": general,
                               # the builtins the code uses, by names no member shadows
                               "_len": len, "_bytes": bytes, "_type": type}
        body = []
        if wanted:
            made = decoder.struct.members(wanted)
            if made is None:
                return None
            env.update(_values=made[0], _need=made[1], _zeros=bytes(made[1]))
            body += ["buf = record if _len(record) >= _need else _bytes(record) + _zeros[_len(record):]",
                     "".join(("_ts" if m == "timestamp" and stamp == "_ts" else m) + ", "
                             for m in wanted) + "= _values(buf)"]
        for m in raw:
            off, size = decoder.raw[m]
            env[f"_span_{m}"] = slice(off, off + size)
            body.append(f"{m} = _bytes(record[_span_{m}])")
        body += ["head = _kept(_bytes(record[_proc]))", "if head is None:",
                 "    head = _new_head(record)", "if not head:", "    return _general(record)"]
        body += [f"{self._local[f]} = ({self.fields[f]})" for f in fields]
        return body, env, stamp

    def json_line(self, decoder: Any, types: Mapping[str, Any], kept: Dict[bytes, str],
                  new_head: Callable[[Any], str], general: Callable[[Any], str],
                  iso: Callable[[int], str], encode: Callable[[Any], str]
                  ) -> Optional[Callable[[Any], str]]:
        """``line(record)``: the JSON line of a record (no newline), or None when the
        decoder cannot give the members alone or a field is a time stamp's.
        ``decoder``: the session's EventDecoder; ``types``: each field's declared type;
        ``kept``: the process parts' text by the raw ``proc`` member's bytes, where
        ``new_head(record)`` puts one that is missing (gadgets.common.lines; "" when
        the general path must write the process's events); ``general(record)``:
        that path's line; ``encode``: the writer's encoder."""
        if not _STAMPS.isdisjoint(self.tops):
            return None
        stamped = "timestamp" in decoder.spans
        start = self._prologue(decoder, list(self.fields), stamped, kept, new_head, general)
        if start is None:
            return None
        body, env, stamp = start
        env.update(_iso=iso, _esc=encode_basestring_ascii, _encode=encode)
        checks: List[str] = []
        parts = []
        for top, fields in self._groups:
            values = [f'"{f.rsplit(".", 1)[-1]}":{self._json_value(f, types, checks)}'
                      for f in fields]
            parts.append(values[0] if fields == [top] else f'"{top}":{{{{{",".join(values)}}}}}')
        if checks:
            body += ["if not (" + " and ".join(checks) + "):", "    raise TypeError"]
        text = (f'{{{{"timestamp":"{{_iso({stamp})}}","timestamp_raw":{{{stamp}}},' if stamped
                else "{{")
        body.append("return f'" + text + "{head}," + ",".join(parts) + "}}'")
        lines = (["def line(record):", "    try:"] + ["        " + b for b in body]
                 + ["    except TypeError:", "        return _general(record)"])
        line: Callable[[Any], str] = self._compiled(lines, env, "line")
        return line

    def _json_value(self, field: str, types: Mapping[str, Any], checks: List[str]) -> str:
        """A field's value in the JSON line's f-string, by its declared type (a type
        check added to ``checks`` where the text alone would not fail on another)."""
        kind, local = types.get(field), self._local[field]
        if kind is int:
            checks.append(f"_type({local}) is int")
            return f"{{{local}}}"
        if kind is bool:
            checks.append(f"_type({local}) is bool")
            return f'{{"true" if {local} else "false"}}'
        if kind is str:
            return f"{{_esc({local})}}"  # raises TypeError on another type
        return f"{{_encode({local})}}"

    def column_line(self, decoder: Any, columns: Sequence[Tuple[str, Callable[[str], str]]],
                    kept: Dict[bytes, List[str]], new_head: Callable[[Any], List[str]],
                    general: Callable[[Any], str], iso: Callable[[int], str],
                    cell: Callable[[Any], str]) -> Optional[Callable[[Any], str]]:
        """``line(record)``: a column row (no newline) computing only the fields shown.
        ``columns``: (field path, fit) per column; the cells of a column that is neither
        a time stamp nor one of the fields come from the kept process part (``kept`` and
        ``new_head`` as in :meth:`json_line`: a list with a cell per column, empty when
        the general path must write the process's events); ``cell``: output.cell_text.
        None when a column is a path inside one of the fields, or as json_line."""
        if not _STAMPS.isdisjoint(self.tops) or any(
                name not in self.fields and name.split(".", 1)[0] in self.tops
                for name, _ in columns):
            return None
        shown = [name for name, _ in columns if name in self.fields]
        stamped = "timestamp" in decoder.spans and any(n in _STAMPS for n, _ in columns)
        start = self._prologue(decoder, shown, stamped, kept, new_head, general)
        if start is None:
            return None
        body, env, stamp = start
        env.update(_iso=iso, _cell=cell)
        cells = []
        for i, (name, fit) in enumerate(columns):
            env[f"_fit_{i}"] = fit
            if name in self.fields:
                cells.append(f"_fit_{i}(_cell({self._local[name]}))")
            elif stamped and name in _STAMPS:
                value = f"_iso({stamp})" if name == "timestamp" else stamp
                cells.append(f"_fit_{i}(_cell({value}))")
            else:
                cells.append(f"head[{i}]")
        body.append('return " ".join([' + ", ".join(cells) + "]).rstrip()")
        line: Callable[[Any], str] = self._compiled(
            ["def line(record):"] + ["    " + b for b in body], env, "line")
        return line
