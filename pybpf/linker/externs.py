"""Resolve `.kconfig` and `.ksyms` externs and patch the instructions using them.

`.kconfig` externs get values in the `.kconfig` map image (the ld_imm64
becomes a BPF_PSEUDO_MAP_VALUE into that map): LINUX_KERNEL_VERSION,
LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE and CONFIG_* from the
kernel config (y/m/n as tristate, bool or char; numbers; quoted strings).
`.ksyms` externs: typeless ones load the /proc/kallsyms address as a
constant, typed variables become BPF_PSEUDO_BTF_ID and kfunc calls
BPF_PSEUDO_KFUNC_CALL with the kernel BTF id (their declared type must be
compatible with the kernel's, as libbpf checks). A kfunc's address taken by
an ld_imm64 (``bpf_ksym_exists(kfunc)``) becomes BPF_PSEUDO_BTF_ID of the
kfunc, as libbpf >= 1.2 writes it. A missing ``__weak`` extern resolves to
zero; a missing strong one is an error naming it.

Nothing here reads the running kernel: its version, config, kallsyms and
BTF come in a ``KernelFacts`` the loader builds (pybpf.kernel_facts for the
running kernel), each asked only when an extern needs it.

A call to a missing ``__weak`` kfunc follows libbpf >= 1.2: a helper call
to ``POISON_KFUNC_CALL`` + the extern's index in libbpf's extern order (the
``.kconfig`` externs first, then the ``.ksyms`` ones by name), which the
verifier drops when the call is dead code and refuses when it is reachable;
``kfunc_of_poison`` turns that refusal back into the kfunc's name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import set_ld_imm64_value
from pybpf.btf import types as bt
from pybpf.btf.spec import Spec
from pybpf.core.compat import types_are_compat
from pybpf.elf.specs import Extern
from pybpf.errors import LoadError
from pybpf.linker.link import LinkedProgram, MapRef

if TYPE_CHECKING:
    from pybpf.elf.reader import ObjectSpec

KCONFIG = ".kconfig"
TRISTATE = {"n": 0, "y": 1, "m": 2}
POISON_KFUNC_CALL = 2002000000  # libbpf's poison helper id for unresolved weak kfunc calls
_POISON_REFUSED = re.compile(r"invalid func unknown#(2002\d{6})")


@dataclass(frozen=True)
class KernelFacts:
    """The target kernel as externs see it; each fact is a call made only when needed.

    A missing config file is an error only for an object with CONFIG_ externs,
    and kallsyms (a few MB) is read only for typeless ksyms.
    """

    btf: Callable[[], Spec]                       # vmlinux BTF: kfuncs, typed ksyms
    version: Callable[[], int]                    # LINUX_VERSION_CODE
    config: Callable[[], Mapping[str, str]]       # CONFIG_X -> value text
    has_syscall_wrapper: Callable[[], bool]
    address_of: Callable[[str], Optional[int]]    # kallsyms address of a symbol


@dataclass
class KsymTarget:
    """Where a ksym resolved: a kallsyms address, or a kernel BTF id (0: missing weak)."""

    address: int = 0
    btf_id: int = 0


def _kconfig_value(where: str, ext: Extern, btf: Spec, raw: str) -> bytes:
    t = btf[btf.resolve(btf.get_as(ext.type_id, bt.Var).type)]
    if isinstance(t, bt.Array):
        if not (raw.startswith('"') and raw.endswith('"') and len(raw) >= 2):
            raise LoadError(f"{where}: value {raw!r} is not a string")
        text = raw[1:-1].encode()[:ext.size - 1]
        return text.ljust(ext.size, b"\0")
    if raw in TRISTATE:
        if isinstance(t, bt.Enum) and t.name == "libbpf_tristate":
            return TRISTATE[raw].to_bytes(ext.size, "little")
        if isinstance(t, bt.Int) and t.is_bool:
            if raw == "m":
                raise LoadError(f"{where}: value 'm' needs a tristate or char extern, not bool")
            return bytes([raw == "y"])
        if isinstance(t, bt.Int) and t.is_char and ext.size == 1:
            return raw.encode()
        raise LoadError(f"{where}: value {raw!r} needs a bool, tristate or char extern")
    if isinstance(t, bt.Enum) and t.name == "libbpf_tristate":
        raise LoadError(f"{where}: value {raw!r} is not y/m/n")
    try:
        value = int(raw, 0)
    except ValueError:
        raise LoadError(f"{where}: value {raw!r} is not a number") from None
    signed = bool(getattr(t, "signed", False))
    try:
        return value.to_bytes(ext.size, "little", signed=signed)
    except OverflowError:
        raise LoadError(f"{where}: value {value} does not fit in {ext.size} bytes") from None


def _virtual_kconfig(name: str, kernel: KernelFacts) -> Optional[str]:
    if name == "LINUX_KERNEL_VERSION":
        return str(kernel.version())
    if name == "LINUX_HAS_SYSCALL_WRAPPER":
        return "y" if kernel.has_syscall_wrapper() else "n"
    if name == "LINUX_HAS_BPF_COOKIE":
        vmlinux = kernel.btf()
        for tid in vmlinux.ids_by_name("bpf_func_id"):
            t = vmlinux[tid]
            if isinstance(t, bt.Enum):
                names = {v.name for v in t.values}
                return "y" if "BPF_FUNC_get_attach_cookie" in names else "n"
        return "n"
    return None


def fill_kconfig(obj: ObjectSpec, kernel: KernelFacts) -> None:
    """Write every `.kconfig` extern's value into ``obj.maps['.kconfig'].data``."""
    kmap = obj.maps.get(KCONFIG)
    if kmap is None:
        return
    btf, image = _object_btf(obj), kmap.data
    if image is None:
        raise LoadError(f"{obj.name}: map {KCONFIG!r} has no image to write extern values in")
    config: Optional[Mapping[str, str]] = None
    for ext in obj.externs.values():
        if ext.section != KCONFIG:
            continue
        where = f"{obj.name}: extern {ext.name!r}"
        if ext.name.startswith("LINUX_"):
            raw = _virtual_kconfig(ext.name, kernel)
            if raw is None:
                raise LoadError(f"{where}: unknown LINUX_ virtual extern")
        else:
            if config is None:
                config = kernel.config()
            raw = config.get(ext.name)
            if raw is None:
                if ext.weak:
                    continue
                raise LoadError(f"{where}: not in the kernel config and not __weak")
        image[ext.offset:ext.offset + ext.size] = _kconfig_value(where, ext, btf, raw)


def _object_btf(obj: ObjectSpec) -> Spec:
    if obj.btf is None:  # the reader refuses externs without BTF: a hand-made spec
        raise LoadError(f"{obj.name}: externs need the object's BTF")
    return obj.btf


def resolve_ksyms(obj: ObjectSpec, kernel: KernelFacts) -> Dict[str, KsymTarget]:
    """Find every `.ksyms` extern in kallsyms or the kernel BTF."""
    out: Dict[str, KsymTarget] = {}
    for ext in obj.externs.values():
        if ext.section == KCONFIG:
            continue
        where = f"{obj.name}: extern {ext.name!r}"
        if ext.typeless:
            addr = kernel.address_of(ext.name)
            if addr is None and not ext.weak:
                raise LoadError(f"{where}: not in /proc/kallsyms and not __weak")
            out[ext.name] = KsymTarget(address=addr or 0)
            continue
        vmlinux = kernel.btf()
        want = bt.Kind.FUNC if ext.is_func else bt.Kind.VAR
        what = "kfunc" if ext.is_func else "typed ksym variable"
        ids = [tid for tid in vmlinux.ids_by_name(ext.name) if vmlinux.kind_of(tid) == want]
        if not ids and not ext.weak:
            raise LoadError(f"{where}: {what} not found in the kernel's BTF")
        found = vmlinux[ids[0]] if ids else None
        kernel_type = found.type if isinstance(found, (bt.Func, bt.Var)) else 0
        local_type = ext.value_type_id
        btf = _object_btf(obj)
        if ids and not ext.is_func:  # variables compare past qualifiers and typedefs
            local_type, kernel_type = btf.resolve(local_type), vmlinux.resolve(kernel_type)
        if ids and not types_are_compat(btf, local_type, vmlinux, kernel_type):
            raise LoadError(f"{where}: {what} type is incompatible with the kernel's "
                            f"(kernel BTF id {ids[0]})")
        out[ext.name] = KsymTarget(btf_id=ids[0] if ids else 0)
    return out


def libbpf_extern_order(obj: ObjectSpec) -> List[str]:
    """Extern names in the order libbpf indexes them (its obj->externs after sorting):
    `.kconfig` ones as laid out in their map (the reader placed them in libbpf's order:
    descending alignment, then size, then name), then the `.ksyms` ones by name."""
    kconfig = sorted((e for e in obj.externs.values() if e.section == KCONFIG),
                     key=lambda e: e.offset)
    ksyms = sorted((e for e in obj.externs.values() if e.section != KCONFIG),
                   key=lambda e: e.name.encode())
    return [e.name for e in kconfig + ksyms]


def kfunc_of_poison(obj: ObjectSpec, verifier_log: str) -> Optional[str]:
    """The missing kfunc whose poisoned call the verifier refused, if that is what it did."""
    found = _POISON_REFUSED.search(verifier_log)
    if found is None:
        return None
    names = libbpf_extern_order(obj)
    index = int(found.group(1)) - POISON_KFUNC_CALL
    return names[index] if 0 <= index < len(names) else None


def patch_externs(linked: LinkedProgram, obj: ObjectSpec, ksyms: Mapping[str, KsymTarget]) -> None:
    """Rewrite the instructions of ``linked`` that use externs."""
    insns = linked.instructions
    order: List[str] = []
    for ref in linked.extern_refs:
        ext: Extern = obj.externs[ref.name]
        insn = insns[ref.slot]
        where = f"program {linked.name!r}: extern {ext.name!r} at instruction {ref.slot}"
        if ext.section == KCONFIG:
            if not insn.is_ld_imm64:
                raise LoadError(f"{where}: .kconfig extern used by a non-ld_imm64 instruction")
            insn.src = op.BPF_PSEUDO_MAP_VALUE
            insn.imm = 0
            insns[ref.slot + 1].imm = ext.offset
            linked.map_refs.append(MapRef(ref.slot, KCONFIG))
            continue
        target = ksyms[ext.name]
        if ext.is_func and insn.is_call:
            if target.btf_id:
                insn.src, insn.imm, insn.off = op.BPF_PSEUDO_KFUNC_CALL, target.btf_id, 0
            else:  # missing __weak kfunc: a helper call the verifier refuses if ever reached
                order = order or libbpf_extern_order(obj)
                insn.dst = insn.src = insn.off = 0
                insn.imm = POISON_KFUNC_CALL + order.index(ext.name)
            continue
        if not insn.is_ld_imm64:
            what = "kfunc" if ext.is_func else "ksym"
            raise LoadError(f"{where}: {what} used by an instruction that is neither a call "
                            "nor an ld_imm64")
        if ext.typeless or not target.btf_id:
            insn.src = 0
            set_ld_imm64_value(insns, ref.slot, target.address)
        else:
            insn.src = op.BPF_PSEUDO_BTF_ID
            insn.imm = target.btf_id
            insns[ref.slot + 1].imm = 0  # btf_obj_fd 0: vmlinux
