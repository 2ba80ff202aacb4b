"""What one CO-RE relocation resolved to: the record relocate() returns.

Owns ``RelocResult`` (values, poison reason, candidates considered, the patch
applied) and its plain-dict form, used by the on-disk cache and JSON output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

from pybpf.core.kinds import RelocKind


@dataclass
class CandidateInfo:
    """A target type considered for a relocation and how it fared."""

    source: str  # "vmlinux" or a module's name
    type_id: int
    type: str  # spelled: "struct task_struct"
    matched: bool
    detail: str = ""  # matched path "0:1 @ offset 8", or why it did not match


@dataclass
class RelocResult:
    """One relocation of one program: what was computed and what was done."""

    program: str
    index: int  # position of the relocation within the program's list
    insn: int  # instruction slot it patches
    kind: RelocKind
    local_type_id: int
    access_str: str
    local: str  # the local side spelled out: "struct task_struct.real_parent"
    local_location: str = ""  # raw path and offset: "0:60 @ offset 2384"
    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    reason: str = ""  # why the instruction is poisoned
    validate: bool = True
    orig_sz: int = 0
    new_sz: int = 0
    fail_memsz_adjust: bool = False
    candidates: List[CandidateInfo] = field(default_factory=list)
    target: str = ""  # the chosen target spelled out, "" when none matched
    patch: str = ""  # what was done to the instruction
    error: str = ""  # set by explain() when the relocation would fail the load

    @property
    def what(self) -> str:
        """``<byte_off> struct task_struct.real_parent``: kind and accessor for messages."""
        return f"<{self.kind.short}> {self.local}"

    def to_dict(self) -> Dict[str, Any]:
        # every field is a plain value but ``candidates`` (flat records): no deep copy needed
        out = dict(self.__dict__)
        out["kind"] = self.kind.name
        out["candidates"] = [dict(c.__dict__) for c in self.candidates]
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RelocResult":
        data = dict(data)
        data["kind"] = RelocKind[data["kind"]]
        data["candidates"] = [CandidateInfo(**c) for c in data.get("candidates", [])]
        return cls(**data)
