"""JSON and column writers."""
import fcntl
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pybpf_gadgets.common.gadget import Field, Gadget, Hook
from pybpf_gadgets.common.output import ColumnWriter, DictEncoder, JSONWriter, compact_encoder, select_fields

G = Gadget("demo", "trace", "demo gadget", "demo", [Hook("tracepoint", "a/b")],
           fields=[Field("n", "a number", -4, True, "N"), Field("text", "rest", 0, True)])
EVENT = {"proc": {"comm": "bash", "pid": 7}, "runtime": {"containerName": "web"}, "n": 12,
         "text": "hello world " * 20}


def test_select_fields_keeps_nesting():
    assert select_fields(EVENT, ["proc.pid", "n"]) == {"proc": {"pid": 7}, "n": 12}


def test_json_writer_one_object_per_line():
    out = io.StringIO()
    w = JSONWriter(["proc.comm"], out)
    w.event(EVENT)
    w.lost(3, 5)
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0]) == {"proc": {"comm": "bash"}}
    assert json.loads(lines[1]) == {"type": "lost", "lost": 3, "lost_total": 5}


def test_columns_fit_width():
    out = io.StringIO()
    w = ColumnWriter(G, stream=out, width=60)
    w.header()
    w.event(EVENT)
    header, row = out.getvalue().splitlines()
    assert header.split() == ["CONTAINER", "COMM", "PID", "N", "TEXT"]
    assert len(row) <= 60
    assert row.startswith("web")
    assert "  12 hello" in row


def test_columns_selected_fields_and_truncation():
    out = io.StringIO()
    w = ColumnWriter(G, ["proc.comm"], stream=out, width=80)
    w.event({"proc": {"comm": "a-very-long-command-name"}})
    assert out.getvalue().rstrip() == "a-very-long-com+"


def test_columns_escape_control_characters():
    out = io.StringIO()
    w = ColumnWriter(G, ["text"], stream=out, width=80)
    w.event({"text": ["python3", "-c", "a\nb\tc"]})
    assert out.getvalue() == "python3 -c a\\nb\\tc\n"


class _CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


ODD_EVENTS = [
    EVENT,
    {"s": "caf\u00e9 \u2603 \U0001F600", "ctl": "a\x00b\x1f\n\t\"\\", "f": 1.5, "big": 2 ** 70,
     "neg": -3, "none": None, "t": True, "fa": False, "list": [1, "x", [None]], "b": b"\x00\xff",
     "nan": float("nan"), "inf": float("-inf"), "tuple": (1, 2), "empty": {}, "e": []},
]


def test_json_writer_batch_is_json_dumps_of_each_event_in_one_write():
    out = _CountingStream()
    JSONWriter(stream=out).events(ODD_EVENTS * 3)
    expected = "".join(json.dumps(e, separators=(",", ":"), default=str) + "\n"
                       for e in ODD_EVENTS * 3)
    assert out.getvalue() == expected
    assert out.writes == 1
    JSONWriter(stream=out).events([])
    assert out.writes == 1


def _reference_row(writer: ColumnWriter, event: dict) -> str:
    """A row as the writer made it one cell at a time before rows were batched."""
    from pybpf_gadgets.common.filters import get_path
    from pybpf_gadgets.common.output import cell_text

    cells = []
    at = 0
    for col in writer.cols:
        text = cell_text(get_path(event, col.name))
        size = abs(col.width) if col.width else writer.rest
        room = None if writer.width is None else writer.width - at  # left of the line
        at += (size or 0) + 1
        if room is not None and room <= 0:
            text = ""  # past the terminal's edge
        elif col.width == 0:
            rest = writer.rest if room is None else min(writer.rest, room)
            if rest is not None and len(text) > rest:
                text = text[:rest - 1] + "+"  # the cut is marked
        else:
            w = abs(col.width) if room is None else min(abs(col.width), room)
            if len(text) > w:
                text = text[:w - 1] + "+" if w > 1 or w < abs(col.width) else text[:w]
            text = text.rjust(w) if col.width < 0 else text.ljust(w)
        cells.append(text)
    line = " ".join(cells).rstrip()
    assert writer.width is None or len(line) <= writer.width
    return line + "\n"


def test_column_writer_batch_is_the_rows_in_one_write():
    events = [EVENT, {"proc": {"comm": "x" * 40, "pid": 123456789}, "n": -1,
                      "text": "tab\there"}, {}, {"proc": None, "n": True}]
    for width in (None, 50, 12):
        out = _CountingStream()
        writer = ColumnWriter(G, stream=out, width=width)
        writer.events(events)
        assert out.writes == 1
        assert out.getvalue() == "".join(_reference_row(writer, e) for e in events)


def test_cell_texts_short_paths_give_the_general_rules_text():
    """cell_text returns printable strings and ints as they are: the same text as
    the general rule (lists joined, yes/empty for bools, control characters escaped)."""
    from pybpf_gadgets.common.output import _CONTROL, cell_text

    def general(value):
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            text = " ".join(map(str, value))
        elif isinstance(value, bool):
            text = "yes" if value else ""
        else:
            text = str(value)
        return text.translate(_CONTROL)

    for value in (0, -5, 1 << 70, True, False, None, "", "plain", "tab\there", "nl\n",
                  "\x7fdel", "caf\u00e9", "soft\u00adhyphen", "\u2028sep", [1, "a\n"], (2,),
                  3.5, b"raw"):
        assert cell_text(value) == general(value), value


def test_dict_encoder_gives_the_encoders_text():
    """Every shape an event's dict may take (values changing type under the same keys,
    keys in another order, escapes, non-ASCII, bools, None, floats, big ints, nested
    values, odd keys, no keys) gives compact_encoder()'s text, shapes alternating."""
    import random

    encode = compact_encoder()
    dicts = DictEncoder(encode)
    rnd = random.Random(18)
    values = [0, -1, 2 ** 70, True, False, None, 1.5, float("nan"), "", "plain",
              'q"uote\\', "nl\n\x01\x7f", "\u00e9\u2028\U0001f600", "\ufffd", [1, "x"],
              {"k": "v"}, b"x"]
    keys = ["ret", "fd", "error", "fname", "a'b{c}", "\u00e9", "dfd"]
    for _ in range(3000):
        chosen = rnd.sample(keys, rnd.randint(0, len(keys)))
        d = {k: rnd.choice(values) for k in chosen}
        assert dicts(d) == encode(d) == json.dumps(d, separators=(",", ":"), default=str)
    assert dicts({1: "x"}) == encode({1: "x"})


def test_dict_encoder_formats_events_through_its_generated_functions():
    """A gadget's few shapes of dict, alternating, each value drawn anew: every shape
    gets a generated function (none is refused for differing from the encoder) and
    each of its dicts gives the encoder's text, also when a value changes type under
    the same keys (a str or an int swapped, a bool where an int was)."""
    import random

    encode = compact_encoder()
    dicts = DictEncoder(encode)
    rnd = random.Random(6)
    texts = ["", "plain", 'q"uote\\', "nl\n\x01\x7f", "\u00e9\u2028\U0001f600", "\ufffd"]
    ints = [0, -1, 7, 2 ** 70]
    shapes = [("ret", "fd", "error", "fname"), ("fname", "a'b{c}", "\u00e9"), ("pid",)]
    kinds = {"ret": ints, "fd": ints, "pid": ints, "error": texts, "fname": texts,
             "a'b{c}": texts, "\u00e9": ints}
    for i in range(600):
        keys = shapes[i % len(shapes)]
        d = {k: rnd.choice(kinds[k]) for k in keys}
        assert dicts(d) == encode(d)
    assert len(dicts._by_shape) == len(shapes)
    assert all(made is not encode for made in dicts._by_shape.values())
    for odd in ({"ret": "x", "fd": 1, "error": "", "fname": "a"},
                {"ret": True, "fd": 1, "error": "", "fname": "a"},
                {"ret": 1, "fd": 1, "error": 5, "fname": None}):
        assert dicts(odd) == encode(odd)


ROOT = Path(__file__).resolve().parents[2]

# batches of JSON lines through the CLI's writer while a handler that returns keeps
# interrupting its blocked writes to a small pipe (a Ctrl-C during a storm, many times)
WRITER = """
import signal, sys
from pybpf_gadgets.common.output import JSONWriter
signal.signal(signal.SIGALRM, lambda *_: None)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
writer = JSONWriter()
for n in range(0, 20000, 400):
    writer.events([{"n": i, "pad": "x" * 200} for i in range(n, n + 400)])
    writer.flush()
writer.lost(1, 1)
signal.setitimer(signal.ITIMER_REAL, 0)
"""


def test_a_write_interrupted_by_a_returning_handler_goes_out_whole():
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, 1031, 4096)  # F_SETPIPE_SZ: every batch blocks several times
    child = subprocess.Popen([sys.executable, "-c", WRITER], stdout=write_end,
                             stderr=subprocess.PIPE, cwd=str(ROOT))
    os.close(write_end)
    data = bytearray()
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(4096)
            if not chunk:
                break
            data.extend(chunk)
            time.sleep(0.0002)  # slower than the writer: its writes block
    err = child.stderr.read().decode()
    assert child.wait(timeout=30) == 0, err
    docs = [json.loads(line) for line in data.decode().splitlines()]
    assert [d["n"] for d in docs[:-1]] == list(range(20000))
    assert docs[-1] == {"type": "lost", "lost": 1, "lost_total": 1}
