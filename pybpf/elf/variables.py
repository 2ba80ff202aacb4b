"""Global variables of data sections, readable and writable before load.

``ObjectSpec.constants`` covers the `.rodata*` sections and
``ObjectSpec.variables`` the `.data*`/`.bss*` sections. Writing a variable
rewrites the initial image of its section's map; the value is checked
against the variable's BTF type and size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, MutableMapping, Optional, Union

from pybpf.btf import types as bt
from pybpf.btf.spec import Spec
from pybpf.elf.specs import MapSpec
from pybpf.errors import ELFError


class UnknownVariableError(ELFError, KeyError):
    """No global variable of that name in the object's data sections."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class DataVariable:
    """Where a global variable lives: its section's map, byte offset, size and BTF type."""

    name: str
    section: str
    offset: int
    size: int
    type_id: int = 0


Value = Union[int, bytes]


class Variables(MutableMapping[str, "Value"]):
    """Mapping of variable name -> value over the initial images of data maps."""

    def __init__(self, where: str, maps: Dict[str, MapSpec], variables: Dict[str, DataVariable],
                 btf: Optional[Spec]) -> None:
        self._where = where
        self._maps = maps
        self._vars = variables
        self._btf = btf

    def info(self, name: str) -> DataVariable:
        try:
            return self._vars[name]
        except KeyError:
            known = ", ".join(sorted(self._vars)) or "none"
            raise UnknownVariableError(
                f"{self._where}: no global variable {name!r} (known: {known})") from None

    def _image(self, var: DataVariable) -> Union[bytearray, memoryview]:
        """The initial image of the data map ``var`` lives in (every data section has one)."""
        data = self._maps[var.section].data
        if data is None:
            raise ELFError(f"{self._where}: section {var.section!r} has no initial image")
        return data

    def _int_type(self, var: DataVariable) -> Optional[Union[bt.Int, bt.Enum]]:
        if self._btf is None or not var.type_id:
            return None
        t = self._btf[self._btf.resolve(var.type_id)]
        return t if isinstance(t, (bt.Int, bt.Enum)) else None

    def __getitem__(self, name: str) -> Value:
        var = self.info(name)
        raw = bytes(self._image(var)[var.offset:var.offset + var.size])
        itype = self._int_type(var)
        if itype is None:
            return raw
        return int.from_bytes(raw, "little", signed=bool(getattr(itype, "signed", False)))

    def __setitem__(self, name: str, value: Value) -> None:
        var = self.info(name)
        where = f"{self._where}: variable {name!r}"
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            if len(raw) != var.size:
                raise ELFError(f"{where} is {var.size} bytes, got {len(raw)}")
        elif isinstance(value, int):
            itype = self._int_type(var)
            if itype is None:
                raise ELFError(f"{where} is not an integer ({var.size} bytes): pass bytes")
            signed = bool(getattr(itype, "signed", False)) or value < 0 and isinstance(itype, bt.Enum)
            try:
                raw = value.to_bytes(var.size, "little", signed=signed)
            except OverflowError:
                raise ELFError(f"{where}: {value} does not fit in {var.size} bytes"
                               f"{' signed' if signed else ' unsigned'}") from None
        else:
            raise ELFError(f"{where}: expected int or bytes, got {type(value).__name__}")
        self._image(var)[var.offset:var.offset + var.size] = raw

    def __delitem__(self, name: str) -> None:
        raise ELFError(f"{self._where}: global variables cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)

    def __repr__(self) -> str:
        return f"Variables({sorted(self._vars)})"
