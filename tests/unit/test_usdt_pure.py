"""USDT's pure parts: `.note.stapsdt` parsing, file offsets, argument specs and their encoding."""
from __future__ import annotations

import struct

import pytest

from pybpf.elf.notes import NOTE, STAPSDT_DESC, Segment, parse_notes, probes, read_probes
from pybpf.elf.usdt_spec import ARG_CONST, ARG_REG, ARG_REG_DEREF, SPEC, USDTArgError, encode_spec, parse_args
from pybpf.errors import ELFError
from pybpf.links.usdt import split_target


def note(provider: str, name: str, pc: int, base: int, sema: int, args: str,
         owner: bytes = b"stapsdt\0", ntype: int = 3) -> dict:
    desc = STAPSDT_DESC.build(dict(pc=pc, base=base, semaphore=sema, provider=provider,
                                   name=name, args=args))
    return dict(namesz=len(owner), descsz=len(desc), type=ntype, name=owner, desc=desc)


def test_notes_parsed_and_other_owners_skipped():
    data = NOTE.build([note("python", "function__entry", 0x4F20A1, 0x8CC5A0, 0xA84260,
                            "8@%rbp 8@%r12 -4@%eax"),
                       note("GNU", "x", 0, 0, 0, "", owner=b"GNU\0", ntype=1),
                       note("lib", "p", 0x1104, 0x2000, 0, "")])
    got = parse_notes(data)
    assert [(n.provider, n.name, n.args) for n in got] == [
        ("python", "function__entry", "8@%rbp 8@%r12 -4@%eax"), ("lib", "p", "")]
    assert (got[0].pc, got[0].base, got[0].semaphore) == (0x4F20A1, 0x8CC5A0, 0xA84260)


def test_truncated_note_is_one_clear_error():
    data = NOTE.build([note("p", "n", 1, 2, 3, "")])
    with pytest.raises(ELFError, match="x.so: .*malformed"):
        parse_notes(data[:-6] + b"\xff" * 2, "x.so")


def test_file_offsets_through_segments_and_prelink_base():
    text = Segment(vaddr=0x41F000, memsz=0x2B2289, offset=0x1F000)
    data = Segment(vaddr=0x945DC8, memsz=0x1832F0, offset=0x544DC8)
    notes = parse_notes(NOTE.build([note("python", "f", 0x4F20A1, 0x8CC5A0, 0xA84260, "")]))
    (site,) = probes(notes, [text, data], stapsdt_base=0x8CC5A0)
    assert (site.offset, site.semaphore_offset) == (0xF20A1, 0x683260)
    # prelinked: .stapsdt.base moved by 0x1000, so did the site
    (moved,) = probes(notes, [text, data], stapsdt_base=0x8CD5A0)
    assert moved.offset == 0xF30A1
    with pytest.raises(ELFError, match="USDT python:f at 0x4f20a1 is in no loadable segment"):
        probes(notes, [data])


def test_reads_this_pythons_probes_if_it_has_any():
    machine, sites = read_probes("/usr/bin/python3.11") if __import__("os").path.exists(
        "/usr/bin/python3.11") else ("EM_X86_64", [])
    for site in sites:
        assert site.provider == "python" and site.offset and site.semaphore_offset
        parse_args(machine, site.args)


@pytest.mark.parametrize("machine,args,want", [
    ("EM_X86_64", "8@%rbp", (ARG_REG, 0, 32, False, 8)),
    ("EM_X86_64", "-4@%eax", (ARG_REG, 0, 80, True, 4)),
    ("EM_X86_64", "-1@%r12b", (ARG_REG, 0, 24, True, 1)),
    ("EM_X86_64", "2@%si", (ARG_REG, 0, 104, False, 2)),
    ("EM_X86_64", "-4@112(%rsp)", (ARG_REG_DEREF, 112, 152, True, 4)),
    ("EM_X86_64", "8@-0x18(%rbp)", (ARG_REG_DEREF, -24, 32, False, 8)),
    ("EM_X86_64", "8@(%rax)", (ARG_REG_DEREF, 0, 80, False, 8)),
    ("EM_X86_64", "-4@$-9", (ARG_CONST, -9, 0, True, 4)),
    ("EM_AARCH64", "8@x0", (ARG_REG, 0, 0, False, 8)),
    ("EM_AARCH64", "-4@x30", (ARG_REG, 0, 240, True, 4)),
    ("EM_AARCH64", "8@[x1, 16]", (ARG_REG_DEREF, 16, 8, False, 8)),
    ("EM_AARCH64", "8@[sp, -8]", (ARG_REG_DEREF, -8, 248, False, 8)),
    ("EM_AARCH64", "4@[x19]", (ARG_REG_DEREF, 0, 152, False, 4)),
    ("EM_AARCH64", "-2@5", (ARG_CONST, 5, 0, True, 2)),
])
def test_argument_locations(machine, args, want):
    (spec,) = parse_args(machine, args)
    assert (spec.kind, spec.val_off, spec.reg_off, spec.signed, spec.size) == want


def test_arm64_arguments_with_blanks_inside_brackets():
    got = parse_args("EM_AARCH64", "8@[x1, 16] -4@x0  8@[sp]")
    assert [a.kind for a in got] == [ARG_REG_DEREF, ARG_REG, ARG_REG_DEREF]


@pytest.mark.parametrize("machine,args,match", [
    ("EM_X86_64", "%rax", "no size"),
    ("EM_X86_64", "3@%rax", "no size"),
    ("EM_X86_64", "8@%xmm0", "unknown register 'xmm0'"),
    ("EM_X86_64", "8@8(%rax,%rbx,2)", "unsupported location"),
    ("EM_AARCH64", "8@w0", "unknown register 'w0'"),
    ("EM_RISCV", "8@a0", "RISCV binaries are not supported"),
    ("EM_X86_64", " ".join(["8@%rax"] * 13), "13 arguments"),
])
def test_argument_refusals(machine, args, match):
    with pytest.raises(USDTArgError, match=match):
        parse_args(machine, args)


def test_spec_encoding_matches_usdt_bpf_h_layout():
    raw = encode_spec(parse_args("EM_X86_64", "-4@-20(%rbp) 8@%rax -1@$99"), cookie=0xC0FFEE)
    assert len(raw) == 208  # sizeof(struct __bpf_usdt_spec)
    val_off, arg_type, reg_off, signed, shift = struct.unpack_from("<QIhBb", raw, 0)
    assert (val_off, arg_type, reg_off, signed, shift) == (2**64 - 20, 2, 32, 1, 32)
    assert struct.unpack_from("<QIhBb", raw, 16) == (0, 1, 80, 0, 0)
    assert struct.unpack_from("<QIhBb", raw, 32) == (99, 0, 0, 1, 56)
    assert raw[48:192] == bytes(144)
    assert struct.unpack_from("<Qh", raw, 192) == (0xC0FFEE, 3)
    assert SPEC.parse(raw).arg_cnt == 3


def test_split_target():
    assert split_target("/usr/bin/python3.11:python:function__entry") == (
        "/usr/bin/python3.11", "python", "function__entry")
    assert split_target("libc.so.6:libc:setjmp") == ("libc.so.6", "libc", "setjmp")
    with pytest.raises(Exception, match="not BINARY:PROVIDER:NAME"):
        split_target("python:function__entry")


def test_garbage_notes_raise_only_elferror():
    import random
    rng = random.Random(12)
    good = NOTE.build([note("python", "line", 0x43423C, 0x8CC5A0, 0xA8426C, "8@%r14")])
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data[:rng.randint(0, len(data))])
        try:
            parse_notes(data)
        except ELFError:
            pass
