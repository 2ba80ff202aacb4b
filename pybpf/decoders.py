"""Struct decoders that need no BTF at start-up: a codec's decode half, kept in the cache.

Decoding a struct of a prepared object (a trace gadget's event) goes through a
pybpf.btf.codec.Codec, whose making parses the object's BTF and generates the
decoder: tens of milliseconds at every start although the result depends only
on the BTF bytes and the struct's name. :func:`struct_decoder` returns a
:class:`StructDecoder` (size, one ``struct`` format, the decode function, each
named member's offset and size) from the cache directory when an entry for
these BTF bytes and this installation of pybpf is there, under the prepared
cache's trust rules (pybpf.cachedir: owner and mode checks, no links followed,
a keyed MAC; ``PYBPF_NO_CORE_CACHE=1`` turns it off); else it builds the codec
from the BTF and stores what a later start needs.

An entry's body is JSON: the struct's name, size, format, member spans and the
codec's decode expression. The expression is checked against the forms the
codec generates (items and slices of the unpacked tuple ``v``, dict and list
displays, integer arithmetic, three helpers; no attribute, no other name)
before it is compiled; anything else in an entry means a cold build that
rewrites it. A codec that needs nested codecs (unions after their first
member, arrays of structs too long to unroll) is not stored: such a struct is
decoded from BTF on every start.
"""
from __future__ import annotations

import _ast
import json
import struct

try:  # the builtin module: hashlib would also initialise OpenSSL (a few ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons built without it
    from hashlib import blake2b

from pybpf import cachedir
from pybpf.errors import BTFError
from pybpf.prepared import PreparedObject, install_identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

    from pybpf.elf.reader import ObjectSpec
    Spans = Dict[str, Tuple[int, int]]

FORMAT = 1  # bump when an entry changes meaning
MAGIC = b"PYBPFSD1"
MAX_ENTRY = 1 << 20


def _cstr(raw: bytes) -> str:  # as the codec decodes a char array
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("utf-8", "replace")


_HELPERS: Dict[str, Any] = {"_cstr": _cstr, "_from_bytes": int.from_bytes, "list": list}
_NODES = (_ast.Expression, _ast.Dict, _ast.List, _ast.Constant, _ast.Subscript, _ast.Slice,
          _ast.Name, _ast.Load, _ast.Call, _ast.keyword, _ast.BinOp, _ast.RShift, _ast.BitAnd,
          _ast.BitXor, _ast.Sub)


class _Unusable(Exception):
    """An entry that does not hold a valid decoder."""


class StructDecoder:
    """Decodes a buffer of at least ``size`` bytes into a dict of the struct's members
    (the codec's values); ``spans``: each named member's (offset, size). ``fmt`` and
    ``expression`` (the codec's, None when it needs nested codecs) make :meth:`narrowed`."""

    def __init__(self, name: str, size: int, decode_from: Callable[..., Any],
                 spans: Spans, fmt: Optional[str] = None,
                 expression: Optional[str] = None, *,
                 tree: Optional[_ast.Expression] = None) -> None:
        self.name = name
        self.size = size
        self.decode_from = decode_from
        self.spans = spans
        self.fmt = fmt
        self.expression = expression
        self._tree = tree  # the expression, checked once (given: by the load that checked it)

    def narrowed(self, skip: Iterable[str]) -> Optional[Tuple[Callable[..., Any], int]]:
        """A ``decode_from(buf, base=0)`` giving the same dict without the members in
        ``skip``, and how many bytes it reads: trailing members that are skipped are
        left out of the format too, so a record cut short after them (a variable-length
        tail) needs no padding. None when the decoder has no expression."""
        return self._derived(lambda fmt, tree: _narrowed(self.name, fmt, tree, set(skip)))

    def members(self, names: Sequence[str]) -> Optional[Tuple[Callable[..., Any], int]]:
        """A ``values_from(buf, base=0)`` giving the tuple of the top-level members
        ``names`` (in that order, each as the decoder gives it), and how many bytes it
        reads (the format cut after the last item read). None when the decoder has no
        expression or a name is not one of its members."""
        return self._derived(lambda fmt, tree: _members(self.name, fmt, tree, list(names)))

    def _derived(self, make: Callable[[str, _ast.Expression], Tuple[Callable[..., Any], int]]
                 ) -> Optional[Tuple[Callable[..., Any], int]]:
        """``make(fmt, checked tree)``, or None without an expression or when it cannot
        serve. The tree is shared: the functions made from it only wrap its nodes."""
        if self.fmt is None or self.expression is None:
            return None
        try:
            if self._tree is None:
                self._tree = _check(self.expression)
            return make(self.fmt, self._tree)
        except (_Unusable, struct.error):
            return None

def _parsed(source: str, mode: str) -> Any:
    """``source`` parsed by compile's own parser: the tree ``ast.parse`` gives (the ast
    module, which only wraps _ast and compile, is not imported: a few milliseconds of
    every start)."""
    return compile(source, "<decoder source>", mode, _ast.PyCF_ONLY_AST)


def walk(tree: _ast.AST) -> Iterator[_ast.AST]:
    """Every node of ``tree`` (a tree of compile's ``PyCF_ONLY_AST``), in ``ast.walk``'s
    order (breadth first), without importing the ast module."""
    nodes = [tree]
    for node in nodes:  # grows as it goes: each node's children after those already met
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, _ast.AST):
                nodes.append(value)
            elif isinstance(value, list):
                nodes.extend(item for item in value if isinstance(item, _ast.AST))


def _placed(node: _ast.expr) -> _ast.expr:
    """``node`` (made here, not parsed) given the position compile wants on every node."""
    node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = 1, 0, 1, 0
    return node


def _check(expression: str) -> _ast.Expression:
    """The parsed expression if it only uses the forms the codec generates."""
    tree: _ast.Expression = _parsed(expression, "eval")
    for node in walk(tree):
        if not isinstance(node, _NODES):
            raise _Unusable(type(node).__name__)
        if isinstance(node, _ast.Name) and node.id != "v" and node.id not in _HELPERS:
            raise _Unusable(node.id)
        if isinstance(node, _ast.Constant) and not isinstance(node.value, (int, str)):
            raise _Unusable("constant")
        if isinstance(node, _ast.Dict) and not all(isinstance(k, _ast.Constant) for k in node.keys):
            raise _Unusable("dict key")
        if isinstance(node, _ast.Subscript) and not (isinstance(node.value, _ast.Name)
                                                    and node.value.id == "v"):
            raise _Unusable("subscript")
        if isinstance(node, _ast.Call) and not (isinstance(node.func, _ast.Name)
                                               and all(k.arg == "signed" for k in node.keywords)):
            raise _Unusable("call")
    return tree


def _compiled(name: str, size: int, fmt: str, tree: _ast.Expression) -> Callable[..., Any]:
    """``decode_from(buf, base=0)``: the checked expression ``tree`` (``_check``'s) over
    ``fmt`` unpacked at ``base``."""
    layout = struct.Struct(fmt)
    if layout.size != size:
        raise _Unusable("size")
    return _function(name, layout, tree.body)


def _function(name: str, layout: struct.Struct, body: _ast.expr) -> Callable[..., Any]:
    """``decode_from(buf, base=0)`` returning ``body`` (a checked expression) over ``v``,
    ``layout`` unpacked at ``base``."""
    module: _ast.Module = _parsed("def decode_from(buf, base=0):\n    v = _unpack(buf, base)\n"
                                  "    return v\n", "exec")
    func = module.body[0]
    assert isinstance(func, _ast.FunctionDef) and isinstance(func.body[1], _ast.Return)
    func.body[1].value = body
    env = dict(_HELPERS, _unpack=layout.unpack_from)
    exec(compile(module, f"<decoder of {name}>", "exec"), env)  # noqa: S102
    decode_from: Callable[..., Any] = env["decode_from"]
    return decode_from


def _tokens(body: str) -> Iterator[Tuple[str, str]]:
    """A struct format's body (no byte-order mark) as (count, code) pairs."""
    count = ""
    for char in body:
        if char.isdigit():
            count += char
        else:
            yield count, char
            count = ""


def _items_end(tree: _ast.expr) -> int:
    """One past the highest item of ``v`` that ``tree`` reads (constant indices and slices)."""
    end = 0
    for node in walk(tree):
        if not isinstance(node, _ast.Subscript):
            continue
        index = node.slice
        if isinstance(index, _ast.Constant) and isinstance(index.value, int):
            end = max(end, index.value + 1)
        elif isinstance(index, _ast.Slice) and isinstance(index.upper, _ast.Constant) \
                and isinstance(index.upper.value, int):
            end = max(end, index.upper.value)
        else:
            raise _Unusable("index")
    return end


def _top_level(tree: _ast.Expression, fmt: str) -> Dict[Any, _ast.expr]:
    """The top-level dict display's members (key constant -> value expression)."""
    body = tree.body
    if not isinstance(body, _ast.Dict) or fmt[:1] not in ("<", ">", "=", "!"):
        raise _Unusable("not a struct with standard sizes")
    return {k.value: v for k, v in zip(body.keys, body.values) if isinstance(k, _ast.Constant)}


def _cut(name: str, fmt: str, body: _ast.expr) -> Tuple[Callable[..., Any], int]:
    """The function returning ``body`` over ``fmt`` cut after the last item it reads
    (standard sizes only: no alignment), and how many bytes that format reads."""
    need = _items_end(body)
    tokens, items = [], 0
    for count, code in _tokens(fmt[1:]):
        if items >= need:
            break
        tokens.append(count + code)
        if code != "x":
            items += 1 if code in "sp" else int(count or 1)
    layout = struct.Struct(fmt[0] + "".join(tokens))
    return _function(name, layout, body), layout.size


def _narrowed(name: str, fmt: str, tree: _ast.Expression, skip: Set[str]
              ) -> Tuple[Callable[..., Any], int]:
    """See StructDecoder.narrowed: the kept keys of the top-level dict display."""
    kept = [(k, v) for k, v in _top_level(tree, fmt).items() if k not in skip]
    keys: List[Optional[_ast.expr]] = [_placed(_ast.Constant(k)) for k, _ in kept]
    return _cut(name, fmt, _placed(_ast.Dict(keys=keys, values=[v for _, v in kept])))


def _members(name: str, fmt: str, tree: _ast.Expression, names: List[str]
             ) -> Tuple[Callable[..., Any], int]:
    """See StructDecoder.members: a tuple display of the named members' values."""
    top = _top_level(tree, fmt)
    if not all(n in top for n in names):
        raise _Unusable("member")
    return _cut(name, fmt, _placed(_ast.Tuple(elts=[top[n] for n in names], ctx=_ast.Load())))


def _key(obj: PreparedObject, name: str) -> str:
    h = blake2b(digest_size=20)
    h.update(f"pybpf-decoder/{FORMAT}|{install_identity()}|{name}\0".encode())
    h.update(blake2b(obj.btf_bytes or b"", digest_size=20).digest())
    return h.hexdigest()


def _decoded(body: memoryview, name: str) -> StructDecoder:
    head = json.loads(bytes(body))
    if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("name") != name:
        raise _Unusable("header")
    size, fmt, expression, raw_spans = (head.get(k) for k in ("size", "fmt", "expr", "spans"))
    if not (isinstance(size, int) and size >= 0 and isinstance(fmt, str)
            and isinstance(expression, str) and isinstance(raw_spans, dict)):
        raise _Unusable("fields")
    spans: Spans = {}
    for member, span in raw_spans.items():
        if not (isinstance(span, list) and len(span) == 2 and all(
                isinstance(x, int) and x >= 0 for x in span) and span[0] <= size):
            raise _Unusable("span")
        spans[member] = (span[0], span[1])
    tree = _check(expression)
    return StructDecoder(name, size, _compiled(name, size, fmt, tree), spans, fmt, expression,
                         tree=tree)


def _load(key: str, name: str) -> Optional[StructDecoder]:
    body = cachedir.load_sealed(f"decoder-{key}.bin", MAGIC, MAX_ENTRY)
    if body is None:
        return None
    try:
        return _decoded(body, name)
    except (_Unusable, ValueError, TypeError, SyntaxError, RecursionError, struct.error):
        return None


def _built(obj: Union[PreparedObject, ObjectSpec], name: str) -> Tuple[StructDecoder, Optional[bytes]]:
    """The decoder made from the object's BTF, and the entry to keep (None: not storable)."""
    # deferred: the BTF parser and codec generator are a cold start's business
    from pybpf.btf.codec import Codec
    from pybpf.btf.types import Struct

    btf = obj.btf
    tid = None if btf is None else next(
        (t for t in btf.ids_by_name(name) if isinstance(btf[t], Struct)), None)
    if btf is None or tid is None:
        raise BTFError(f"{obj.name}: struct {name!r} is not in the object's BTF")
    codec = Codec.for_type(btf, tid)
    members = btf.get_as(tid, Struct).members
    spans = {m.name: (m.bit_offset // 8, btf.size_of(m.type)) for m in members if m.name}
    decoder = StructDecoder(name, codec.size, codec.decode_from, spans, codec.struct.format,
                            codec.expression)
    if codec.expression is None:
        return decoder, None
    body = {"format": FORMAT, "name": name, "size": codec.size, "fmt": codec.struct.format,
            "expr": codec.expression, "spans": spans}
    return decoder, json.dumps(body, separators=(",", ":")).encode()


def struct_decoder(obj: Union[PreparedObject, ObjectSpec], name: str) -> StructDecoder:
    """The decoder of struct ``name`` in ``obj``'s BTF (cached: see the module). An
    ObjectSpec (a cold load changed by a gadget's ``prepare``) has its BTF parsed
    already and no BTF bytes to key an entry with: built, not cached."""
    if not cachedir.enabled() or not isinstance(obj, PreparedObject):
        return _built(obj, name)[0]
    key = _key(obj, name)
    hit = _load(key, name)
    if hit is not None:
        return hit
    decoder, entry = _built(obj, name)
    if entry is not None:
        cachedir.store_sealed(f"decoder-{key}.bin", MAGIC, entry)
    return decoder
