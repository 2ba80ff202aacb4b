"""SystemTap SDT probes (USDT) of an executable or shared library: `.note.stapsdt`.

Each NT_STAPSDT note of a 64-bit ELF file names a probe (provider, name), the
address of its call site, the link-time address of `.stapsdt.base` (to undo
prelinking) and of its semaphore (0 if none), and the assembler's argument
string (``-4@%eax 8@8(%rbp)`` on x86-64, ``8@[x1, 16]`` on arm64). ``probes``
turns them into file offsets, which is what the kernel's uprobe API takes:
the site and the semaphore (``ref_ctr_offset``) are mapped through the PT_LOAD
segment holding them. Pure: the caller hands the bytes of the file's parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from construct import Aligned, Bytes, Construct, CString, GreedyRange, Int32ul, Int64ul, Struct, this

from pybpf.errors import ELFError

NT_STAPSDT = 3
STAPSDT_OWNER = b"stapsdt\0"

NOTE: Construct = GreedyRange(Struct(
    "namesz" / Int32ul,
    "descsz" / Int32ul,
    "type" / Int32ul,
    "name" / Aligned(4, Bytes(this.namesz)),
    "desc" / Aligned(4, Bytes(this.descsz)),
))

STAPSDT_DESC: Construct = Struct(
    "pc" / Int64ul,
    "base" / Int64ul,
    "semaphore" / Int64ul,
    "provider" / CString("utf8"),
    "name" / CString("utf8"),
    "args" / CString("utf8"),
)


@dataclass(frozen=True)
class Segment:
    """A PT_LOAD program header: where ``vaddr``..``vaddr + memsz`` comes from in the file."""

    vaddr: int
    memsz: int
    offset: int

    def file_offset(self, addr: int) -> Optional[int]:
        if self.vaddr <= addr < self.vaddr + self.memsz:
            return addr - self.vaddr + self.offset
        return None


@dataclass(frozen=True)
class SDTNote:
    """One probe site as the note records it (link-time addresses)."""

    provider: str
    name: str
    pc: int
    base: int
    semaphore: int
    args: str


@dataclass(frozen=True)
class ProbeSite:
    """A probe site ready for a uprobe: file offsets of the site and its semaphore (0: none)."""

    provider: str
    name: str
    offset: int
    semaphore_offset: int
    args: str


def _align4(n: int) -> int:
    return (n + 3) & ~3


def parse_notes(data: bytes, where: str = "<notes>") -> List[SDTNote]:
    """The SDT probes in the bytes of a `.note.stapsdt` section (other notes are skipped)."""
    try:
        notes = NOTE.parse(data)
    except Exception as exc:  # construct raises its own hierarchy
        raise ELFError(f"{where}: .note.stapsdt is malformed ({exc.__class__.__name__})") from None
    used = sum(12 + _align4(n.namesz) + _align4(n.descsz) for n in notes)
    if used != len(data):  # GreedyRange stops quietly at a truncated note
        raise ELFError(f"{where}: .note.stapsdt is malformed (a note is cut at byte {used})")
    out = []
    for note in notes:
        if note.type != NT_STAPSDT or note.name != STAPSDT_OWNER:
            continue
        try:
            desc = STAPSDT_DESC.parse(note.desc)
        except Exception as exc:
            raise ELFError(f"{where}: a stapsdt note is malformed "
                           f"({exc.__class__.__name__})") from None
        out.append(SDTNote(desc.provider, desc.name, desc.pc, desc.base, desc.semaphore,
                           desc.args))
    return out


def _file_offset(segments: Sequence[Segment], addr: int) -> Optional[int]:
    for seg in segments:
        off = seg.file_offset(addr)
        if off is not None:
            return off
    return None


def probes(notes: Sequence[SDTNote], segments: Sequence[Segment], stapsdt_base: int = 0,
           where: str = "<elf>") -> List[ProbeSite]:
    """File offsets of every note's site and semaphore. ``stapsdt_base`` is the address of
    the `.stapsdt.base` section (0 if absent); a prelinked file moved it, and each site moved
    by the same amount (libbpf's adjustment; semaphores are taken as recorded)."""
    out = []
    for note in notes:
        pc = note.pc + (stapsdt_base - note.base if stapsdt_base else 0)
        offset = _file_offset(segments, pc)
        if offset is None:
            raise ELFError(f"{where}: USDT {note.provider}:{note.name} at {pc:#x} is in no "
                           "loadable segment")
        sema = 0
        if note.semaphore:
            found = _file_offset(segments, note.semaphore)
            if found is None:
                raise ELFError(f"{where}: USDT {note.provider}:{note.name} semaphore at "
                               f"{note.semaphore:#x} is in no loadable segment")
            sema = found
        out.append(ProbeSite(note.provider, note.name, offset, sema, note.args))
    return out


def read_probes(path: str) -> Tuple[str, List[ProbeSite]]:
    """(ELF machine, probe sites) of the ELF file at ``path``; ELFError if unreadable."""
    from elftools.common.exceptions import ELFError as PyELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            if elf.elfclass != 64 or not elf.little_endian:
                raise ELFError(f"{path}: USDT needs a 64-bit little-endian ELF file")
            sec = elf.get_section_by_name(".note.stapsdt")
            if sec is None:
                return elf["e_machine"], []
            base = elf.get_section_by_name(".stapsdt.base")
            segments = [Segment(s["p_vaddr"], s["p_memsz"], s["p_offset"])
                        for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            notes = parse_notes(sec.data(), path)
            return elf["e_machine"], probes(notes, segments, base["sh_addr"] if base else 0,
                                            path)
    except (OSError, PyELFError) as exc:
        raise ELFError(f"{path}: cannot read ELF ({exc})") from None
