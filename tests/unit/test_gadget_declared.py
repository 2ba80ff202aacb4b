"""A gadget's fields declared as expressions (pybpf_gadgets.common.declared): the dict
they make, and the JSON line generated from them, against json.dumps of that dict."""
import json
import struct
from types import SimpleNamespace

import pytest

from pybpf import decoders
from pybpf_gadgets.common.declared import Declared
from pybpf_gadgets.common.output import compact_encoder

FMT = "<8sQi8s4s"
EXPR = "{'proc': v[0], 'timestamp': v[1], 'n': v[2], 'name': _cstr(v[3]), 'tail': v[4]}"
SPANS = {"proc": (0, 8), "timestamp": (8, 8), "n": (16, 4), "name": (20, 8), "tail": (28, 4)}
SIZE = struct.calcsize(FMT)
HEAD = '"proc":{"pid":1}'


def _decoder(n="n"):
    """The event's decoder; ``n``: the int member's name."""
    expr = EXPR.replace("'n'", repr(n))
    spans = {(n if k == "n" else k): v for k, v in SPANS.items()}
    made = decoders._compiled("event", SIZE, FMT, decoders._check(expr))
    sd = decoders.StructDecoder("event", SIZE, made, spans, FMT, expr)
    return SimpleNamespace(struct=sd, spans=spans, raw={"tail": SPANS["tail"]})


FIELDS = Declared({
    "n": "n if n >= 0 else 'negative'",  # declared int: a str makes the general path
    "twice": "n * 2",
    "name": "name",
    "odd": "bool(n & 1)",
    "tail": "list(tail[:size])",
}, {"size": 2})
TYPES = {"n": int, "twice": int, "name": str, "odd": bool}


def _record(n, name, proc=b"p" * 8):
    return struct.pack(FMT, proc, 5_000_000_123, n, name, b"\x01\x02\x03\x04")


def _line(head=HEAD):
    decoder = _decoder()
    encode = compact_encoder()

    def general(record):
        raw = decoder.struct.decode_from(record)
        raw["tail"] = record[28:32]
        event = {"timestamp": "T", "timestamp_raw": raw["timestamp"], "proc": {"pid": 1}}
        event.update(FIELDS(raw))
        return "general:" + encode(event)

    kept = {}
    line = FIELDS.json_line(decoder, TYPES, kept, lambda rec: kept.setdefault(bytes(rec[:8]), head),
                            general, lambda ns: "T", encode)
    return line, general


@pytest.mark.parametrize("name", [b"plain", b'q"\\\n\x01', "\u00e9\u2028".encode(), b"\xff\xfe\xc3x",
                                  b"12345678"])
def test_line_is_the_dict_encoded(name):
    line, general = _line()
    for n in (0, 7, 1 << 30):
        rec = _record(n, name)
        assert line(rec) == general(rec)[len("general:"):]
        assert json.loads(line(rec))["tail"] == [1, 2]


def test_declared_type_not_met_or_no_head_takes_the_general_path():
    line, general = _line()
    rec = _record(-1, b"x")
    assert line(rec) == general(rec)
    line, general = _line(head="")
    rec = _record(1, b"x")
    assert line(rec) == general(rec)


def test_short_record_is_padded():
    line, _ = _line()
    rec = _record(3, b"abc")[:24]  # cut inside name and before tail: zeros, no bytes
    assert json.loads(line(rec)) == {"timestamp": "T", "timestamp_raw": 5_000_000_123,
                                     "proc": {"pid": 1}, "n": 3, "twice": 6, "name": "abc",
                                     "odd": True, "tail": []}


def test_dict_and_members():
    assert FIELDS.members == ("n", "name", "tail")
    assert FIELDS({"n": 3, "name": "a", "tail": b"\x05\x06\x07"}) == {
        "n": 3, "twice": 6, "name": "a", "odd": True, "tail": [5, 6]}


@pytest.mark.parametrize("fields", [{"a-b": "1"}, {"_a": "1"}, {"a": "record"}, {"a": "_x"}, {},
                                    {"a.b.c": "1"}, {"a.": "1"}, {"a": "1", "a.b": "2"},
                                    {"a.b": "1", "a": "2"}, {"a.b": "1", "c": "2", "a.d": "3"}])
def test_refused_declarations(fields):
    with pytest.raises(ValueError):
        Declared(fields, {})


def test_column_row_computes_the_fields_shown_only():
    from pybpf_gadgets.common.output import cell_text

    fields = Declared({"n": "n + 1", "name": "name", "boom": "n // 0", "tail": "tail"}, {})
    decoder = _decoder()

    def fit(text):
        return text[:6].ljust(6)

    columns = [("name", fit), ("proc.pid", fit), ("timestamp", fit), ("n", fit),
               ("timestamp_raw", fit), ("nothing", fit)]
    kept = {}
    line = fields.column_line(decoder, columns, kept,
                              lambda rec: kept.setdefault(bytes(rec[:8]), ["P"] * len(columns)),
                              lambda rec: "general", lambda ns: f"T{ns}", cell_text)
    rec = _record(41, b"a\tb")
    assert line(rec) == " ".join([fit("a\\tb"), "P", fit("T5000000123"), fit("42"),
                                  fit("5000000123"), "P"]).rstrip()
    assert fields.column_line(decoder, [("n.x", fit)], kept, None, None, None, cell_text) is None


def test_member_named_as_a_builtin():
    """An event's ``type`` member read under its own name where the builtin is
    otherwise meant; the generated line's own checks still work."""
    assert Declared({"t": "type(n)"}, {}).members == ("n",)
    fields = Declared({"type": "type", "kind": "str(type)", "size": "len(name)"}, {},
                      builtin_members=("type",))
    assert fields.members == ("type", "name")
    assert fields({"type": 3, "name": "abc"}) == {"type": 3, "kind": "3", "size": 3}
    decoder, encode = _decoder("type"), compact_encoder()
    kept = {}
    line = fields.json_line(decoder, {"type": int, "size": int}, kept,
                            lambda rec: kept.setdefault(bytes(rec[:8]), HEAD),
                            lambda rec: "general", lambda ns: "T", encode)
    assert json.loads(line(_record(3, b"abc"))) == {
        "timestamp": "T", "timestamp_raw": 5_000_000_123, "proc": {"pid": 1}, "type": 3,
        "kind": "3", "size": 3}


def test_a_builtin_member_not_listed_is_refused_not_read_as_the_builtin():
    """Without builtin_members, ``type`` in an expression is the builtin; an event that
    has a member of that name is refused at its first use (dict and generated line)
    rather than shown as <class 'type'>."""
    fields = Declared({"type": "type", "size": "len(name)"}, {})
    with pytest.raises(ValueError, match="member 'type' is read as the builtin"):
        fields({"type": 3, "name": "abc"})
    kept = {}
    with pytest.raises(ValueError, match="builtin_members"):
        Declared({"type": "type"}, {}).json_line(
            _decoder("type"), {"type": int}, kept, lambda rec: HEAD, lambda rec: "general",
            lambda ns: "T", compact_encoder())
    assert Declared({"n": "len(name)"}, {})({"name": "ab"}) == {"n": 2}  # no clash


@pytest.mark.parametrize("expression", ["[c for c in name]", "(lambda x: x)(n)",
                                        "(m := n) + m"])
def test_an_expression_that_binds_a_name_is_refused(expression):
    """Its variables would be taken for the event's members (and fail at the first event)."""
    with pytest.raises(ValueError, match="binds a name"):
        Declared({"f": expression}, {})


def test_dotted_fields_make_a_dict_under_their_key():
    """"target.pid": "pid" of the dict under "target", in the dict, the JSON line (its
    declared types checked) and a column row showing it."""
    from pybpf_gadgets.common.output import cell_text

    fields = Declared({"n": "n", "t.n": "n + 1", "t.name": "name", "after": "n * 2"}, {})
    assert fields({"n": 1, "name": "a"}) == {"n": 1, "t": {"n": 2, "name": "a"}, "after": 2}
    assert fields.tops == {"n", "t", "after"}
    decoder, encode = _decoder(), compact_encoder()
    kept = {}
    head = lambda rec: kept.setdefault(bytes(rec[:8]), HEAD)  # noqa: E731
    line = fields.json_line(decoder, {"t.n": int, "t.name": str}, kept, head,
                            lambda rec: "general", lambda ns: "T", encode)
    assert line(_record(1, b'a"')) == ('{"timestamp":"T","timestamp_raw":5000000123,'
                                      '"proc":{"pid":1},"n":1,"t":{"n":2,"name":"a\\""},"after":2}')
    assert fields.json_line(decoder, {"t.n": str}, kept, head, lambda rec: "general",
                            lambda ns: "T", encode)(_record(1, b"a")) == "general"
    columns = [("t.name", cell_text), ("proc.pid", cell_text)]
    kept.clear()
    row = fields.column_line(decoder, columns, kept,
                             lambda rec: kept.setdefault(bytes(rec[:8]), ["P", "P"]),
                             lambda rec: "general", lambda ns: "T", cell_text)
    assert row(_record(1, b"x")) == "x P"
    assert fields.column_line(decoder, [("t", cell_text)], kept, None, None, None,
                              cell_text) is None


@pytest.mark.parametrize("expression", [
    "n if n >= 0 else 'negative'", "list(tail[:size])", "[x + y for x in a if x > z]",
    "f(a, b=c, *d, **e)", "a.b.c(d)[e:f:g]", "lambda q: q + w", "{k: v for k, v in m.items()}",
    "not a and b or c", "f'{a}{b!r:>{c}}'"])
def test_nodes_as_ast_walk_finds_them(expression):
    """The declared fields' names come from compile's own nodes (no ast module), in
    ast.walk's order: members keep the order of their first use."""
    import ast

    from pybpf_gadgets.common.declared import _nodes

    want = [type(n).__name__ for n in ast.walk(ast.parse(expression, mode="eval"))]
    assert [type(n).__name__ for n in _nodes(expression)] == want
