"""The prepared-object record's wire format: what is stored comes back equal, and an
entry that is off in any way is refused whole (pybpf.prepared)."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile

import pytest

from pybpf import prepared as pp
from pybpf.records import fields_of


def sample() -> pp.PreparedObject:
    inner = pp.PreparedMap("inner", 1, 4, 8, 16)
    maps = {
        "events": pp.PreparedMap("events", 27, max_entries=1 << 16),
        ".rodata": pp.PreparedMap(".rodata", 2, 4, 12, 1, data=b"\1\2\3" + bytes(9),
                                  freeze=True, section=".rodata", kernel_name="x.rodata"),
        ".bss": pp.PreparedMap(".bss", 2, 4, 1 << 16, 1, data=memoryview(bytes(1 << 16)),
                               section=".bss"),
        "outer": pp.PreparedMap("outer", 12, 4, 4, 2, inner=inner, contents={0: "inner"}),
        "jmp": pp.PreparedMap("jmp", 3, 4, 4, 2, contents={1: "prog"}),
        "h": pp.PreparedMap("h", 1, 4, 4, 2, contents={b"\0\0\0\1": b"\2\0\0\0"}),
    }
    insns = bytes(range(8)) * 3 + b"\x95" + bytes(7)
    progs = {"prog": pp.PreparedProgram("prog", "tracepoint/a/b", 5, insns,
                                        map_slots=[(0, "events"), (2, ".rodata")],
                                        license="GPL", func_info=b"f" * 8, line_info=b"l" * 16)}
    return pp.PreparedObject("obj.bpf.o", "GPL", maps, progs, b"btf", b"btf")


def roundtrip(obj: pp.PreparedObject) -> pp.PreparedObject:
    return pp.decode(memoryview(pp.encode(obj)))


def as_plain(obj: pp.PreparedObject):
    def plain(v):
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(v)
        if isinstance(v, dict):
            return {plain(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, (pp.PreparedMap, pp.PreparedProgram)):
            return {k: plain(getattr(v, k)) for k in fields_of(type(v))}
        return v
    return (obj.name, obj.license, plain(obj.maps), plain(obj.programs), obj.btf_bytes,
            obj.btf_load)


def test_roundtrip_is_equal():
    obj = sample()
    assert as_plain(roundtrip(obj)) == as_plain(obj)


def test_zero_image_is_not_stored_but_mapped():
    body = pp.encode(sample())
    assert len(body) < 4096  # the 64 KiB .bss is a size, not bytes
    back = pp.decode(memoryview(body)).maps[".bss"].data
    assert back.nbytes == 1 << 16 and not any(back[:64]) and not any(back[-64:])


def test_sanitized_btf_kept_apart_when_it_differs():
    obj = sample()
    obj.btf_load = b"other"
    back = roundtrip(obj)
    assert (back.btf_bytes, back.btf_load) == (b"btf", b"other")


def test_map_fds_go_into_the_immediates():
    prog = sample().programs["prog"]
    image = prog.image({"events": 7, ".rodata": -1})
    assert struct.unpack_from("<i", image, 4)[0] == 7
    assert struct.unpack_from("<i", image, 20)[0] == -1
    assert image[8:16] == prog.insns[8:16]


def _edit(body: bytes, change) -> memoryview:
    (n,) = struct.unpack_from("<I", body)
    head = json.loads(body[4:4 + n])
    change(head)
    text = json.dumps(head).encode()
    return memoryview(struct.pack("<I", len(text)) + text + body[4 + n:])


def _set_prog(field, value):
    return lambda h: h["programs"][0].__setitem__(field, value)


@pytest.mark.parametrize("change", [
    lambda h: h.__setitem__("format", pp.FORMAT + 1),
    lambda h: h["maps"][0].__setitem__("type", "27"),
    lambda h: h["maps"][0].__setitem__("max_entries", True),
    lambda h: h["maps"][0].pop("flags"),
    lambda h: h["maps"][0].__setitem__("surprise", 1),
    _set_prog("map_slots", [[99, "events"]]),
    _set_prog("map_slots", [[0, "nowhere"]]),
    _set_prog("insns", {"$b": 999}),
    _set_prog("insns", "text"),
    lambda h: h["blobs"].__setitem__(0, h["blobs"][0] + 1),
    lambda h: h.__setitem__("maps", {}),
    lambda h: h["maps"][3].__setitem__("contents", {"$d": [[0, 5]]}),
])
def test_an_entry_off_in_any_way_is_refused(change):
    body = pp.encode(sample())
    with pytest.raises(pp._Unusable):
        pp.decode(_edit(body, change))


@pytest.mark.parametrize("cut", [0, 3, 10, -1])
def test_truncated_entries_are_refused(cut):
    body = pp.encode(sample())
    with pytest.raises(pp._Unusable):
        pp.decode(memoryview(body[:cut]))


def test_key_covers_every_override_but_constants(monkeypatch, tmp_path):
    btf = tmp_path / "vmlinux"
    btf.write_bytes(b"x")
    monkeypatch.setattr(pp, "KERNEL_BTF", str(btf))
    base = dict(max_entries={"m": 8}, programs=None, exclude=())
    key = pp.entry_key(b"obj", "o", **base)
    for changed in (dict(base, max_entries={"m": 16}), dict(base, programs=["p"]),
                    dict(base, exclude=["p"])):
        assert pp.entry_key(b"obj", "o", **changed) != key
    assert pp.entry_key(b"obj2", "o", **base) != key
    assert pp.entry_key(b"obj", "other", **base) != key
    btf.write_bytes(b"yy")  # another kernel BTF (size, mtime)
    assert pp.entry_key(b"obj", "o", **base) != key


def with_constants() -> pp.PreparedObject:
    obj = sample()
    obj.constants = {"pid": (".rodata", 4, 4, "u"), "delta": (".rodata", 8, 4, "s"),
                     "comm": (".rodata", 0, 4, ""), "mode": (".rodata", 4, 4, "e")}
    return obj


def test_constants_are_written_into_a_copy_of_the_image():
    obj = with_constants()
    before = bytes(obj.maps[".rodata"].data)
    shared = obj.maps[".rodata"]
    obj.set_constants({"pid": 1234, "delta": -2, "comm": b"bash"})
    image = bytes(obj.maps[".rodata"].data)
    assert image[:4] == b"bash" and struct.unpack_from("<Ii", image, 4) == (1234, -2)
    assert bytes(shared.data) == before  # the record read from the cache is untouched
    back = roundtrip(with_constants())
    assert back.constants == with_constants().constants


@pytest.mark.parametrize("values, message", [
    ({"nope": 1}, "no global variable 'nope' (known: comm, delta, mode, pid)"),
    ({"comm": 1}, "is not an integer"),
    ({"comm": b"toolong"}, "is 4 bytes, got 7"),
    ({"pid": -1}, "does not fit in 4 bytes unsigned"),
    ({"pid": 1 << 32}, "does not fit"),
    ({"pid": "1"}, "expected int or bytes"),
])
def test_bad_constants_are_one_error_naming_them(values, message):
    from pybpf.errors import ELFError

    with pytest.raises(ELFError, match=re.escape(message)):
        with_constants().set_constants(values)


def test_a_negative_enum_value_is_written_signed():
    obj = with_constants()
    obj.set_constants({"mode": -1})
    assert bytes(obj.maps[".rodata"].data)[4:8] == b"\xff" * 4


@pytest.mark.parametrize("entry", [[".rodata", 10, 4, "u"], ["nomap", 0, 4, "u"],
                                   [".rodata", 0, 4, "x"], [".rodata", -1, 4, "u"],
                                   [".rodata", 0, 0, "u"], [".rodata", 0, 4]])
def test_a_constant_entry_out_of_its_image_is_refused(entry):
    body = pp.encode(with_constants())
    with pytest.raises(pp._Unusable):
        pp.decode(_edit(body, lambda h: h["constants"].__setitem__("pid", entry)))


def _identity(path_entry) -> str:
    """install_identity() of the pybpf found at ``path_entry`` alone (no site, another cwd)."""
    code = "import pybpf.prepared as p; print(p.install_identity(), p.__file__)"
    got = subprocess.run([sys.executable, "-S", "-c", code], cwd=os.path.dirname(path_entry),
                         env={**os.environ, "PYTHONPATH": str(path_entry)}, capture_output=True,
                         text=True, check=True)
    identity, where = got.stdout.split()
    assert where.startswith(str(path_entry))
    return identity


def test_install_identity_changes_when_any_module_of_the_package_does(tmp_path):
    """An edited module (an editable install) must not reuse what older code prepared."""
    shutil.copytree(os.path.dirname(pp.__file__), tmp_path / "pybpf",
                    ignore=shutil.ignore_patterns("__pycache__"))
    first = _identity(tmp_path)
    assert _identity(tmp_path) == first
    externs = tmp_path / "pybpf" / "linker" / "externs.py"
    externs.write_text(externs.read_text() + "\n# edited\n")
    assert _identity(tmp_path) != first


def test_install_identity_of_a_zipped_package_is_the_archive(tmp_path):
    archive = tmp_path / "pybpf.zip"
    root = os.path.dirname(pp.__file__)
    with zipfile.ZipFile(archive, "w") as z:
        for here, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(here, name)
                    z.write(path, os.path.join("pybpf", os.path.relpath(path, root)))
    first = _identity(archive)
    assert first and _identity(archive) == first
    archive.touch()
    os.utime(archive, ns=(1, 1))
    assert _identity(archive) != first
