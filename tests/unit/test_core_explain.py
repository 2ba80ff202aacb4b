"""explain(), its table and JSON, the `pybpf explain` command, and verifier-log errors."""
from __future__ import annotations

import base64
import json
import lzma
from types import SimpleNamespace

import pytest
from test_core_foreign import DEBIAN_61_MIN_BTF, OBJECTS

from pybpf.cli import main
from pybpf.core import POISON_IMM, RelocKind, RelocResult, error_from_verifier, explain, format_explanations
from pybpf.core.result import CandidateInfo


@pytest.fixture(scope="module")
def debian_btf(tmp_path_factory):
    path = tmp_path_factory.mktemp("btf") / "debian-6.1-min.btf"
    path.write_bytes(lzma.decompress(base64.b64decode("".join(DEBIAN_61_MIN_BTF))))
    return str(path)


POISON_LOG = """func#0 @0
0: R1=ctx() R10=fp0
0: (85) call bpf_get_current_task#35      ; R0_w=scalar()
1: (85) call unknown#195896080
invalid func unknown#195896080
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def _poisoned(insn=1):
    return RelocResult("prog", 0, insn, RelocKind.FIELD_BYTE_OFFSET, 7, "0:0",
                       "struct task_struct.real_parent", poison=True,
                       reason="no field 'real_parent' in struct task_struct")


def test_error_from_verifier_names_program_insn_relocation_and_line():
    lines = [SimpleNamespace(insn_off=0, file_name="x.bpf.c", line=10, col=2, line_text="\tint a;"),
             SimpleNamespace(insn_off=8, file_name="x.bpf.c", line=12, col=2,
                             line_text="\treturn BPF_CORE_READ(t, real_parent);")]
    err = error_from_verifier("prog", POISON_LOG, [_poisoned()], lines)
    first = str(err).splitlines()[0]
    assert first == ("program 'prog': insn #1: CO-RE relocation <byte_off> "
                     "struct task_struct.real_parent could not be applied and the instruction "
                     "is reachable: no field 'real_parent' in struct task_struct "
                     "(at x.bpf.c:12: return BPF_CORE_READ(t, real_parent);)")
    assert "invalid func unknown#195896080" in str(err)


def test_error_from_verifier_second_half_of_ld_imm64_and_other_logs():
    assert error_from_verifier("prog", POISON_LOG.replace("1: (85)", "2: (85)"),
                               [_poisoned(1)]) is not None
    assert error_from_verifier("prog", "R1 invalid mem access 'scalar'", [_poisoned()]) is None
    ambiguous = error_from_verifier("prog", POISON_LOG.replace("1: (85)", "9: (85)"),
                                    [_poisoned(3), _poisoned(5)])
    assert str(ambiguous).startswith("program 'prog': insn #9 poisoned by a failed CO-RE")


def test_format_explanations_table():
    ok = RelocResult("p", 0, 4, RelocKind.FIELD_BYTE_OFFSET, 3, "0:1", "struct s.a",
                     orig_val=0, new_val=8, target="vmlinux [9] struct s.a",
                     candidates=[CandidateInfo("vmlinux", 9, "struct s", True, "0:1 @ offset 8"),
                                 CandidateInfo("vmlinux", 12, "struct s___2", False, "no field")])
    text = format_explanations([ok, _poisoned()], verbose=True)
    lines = text.splitlines()
    assert lines[0].split() == ["PROGRAM", "INSN", "KIND", "LOCAL", "CANDIDATES", "TARGET", "VALUE"]
    assert "vmlinux[9], vmlinux[12]✗" in lines[1] and lines[1].endswith("0 -> 8")
    assert "POISON: no field 'real_parent'" in lines[2]
    assert any("candidate vmlinux [12] struct s___2: no match: no field" in ln for ln in lines)


def test_explain_records_errors_instead_of_raising(tmp_path, debian_btf):
    rows = explain(OBJECTS / "core_flavors.bpf.o", btf=debian_btf)
    assert rows and all(not r.error for r in rows)
    assert any(r.poison for r in rows)
    pid = next(r for r in rows if r.local == "struct task_struct___fake.pid")
    assert pid.patch == "imm 4 -> 2416"


def test_explain_reports_instruction_mismatch(debian_btf):
    from pybpf.elf import ObjectSpec
    obj = ObjectSpec.from_file(OBJECTS / "core_flavors.bpf.o")
    rows = explain(obj, btf=debian_btf)
    first = next(r for r in rows if r.patch.startswith("imm"))
    obj.programs[first.program].instructions[first.insn].imm += 1  # not what clang emitted
    again = {(r.program, r.insn): r for r in explain(obj, btf=debian_btf)}
    assert "expected" in again[(first.program, first.insn)].error
    assert obj.programs[first.program].instructions[first.insn].imm != POISON_IMM


def test_cli_explain_table_and_json(capsys, debian_btf):
    assert main(["explain", str(OBJECTS / "core_flavors.bpf.o"), "--btf", debian_btf]) == 0
    out = capsys.readouterr().out
    assert "struct task_struct___old.state" in out and "POISON" in out
    assert main(["explain", str(OBJECTS / "core_read.bpf.o"), "--btf", debian_btf,
                 "-o", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    tgid = next(r for r in rows if r["program"] == "core_read" and r["insn"] == 13)
    assert tgid["kind"] == "FIELD_BYTE_OFFSET" and tgid["new_val"] == 2420
    assert tgid["local"] == "struct task_struct.tgid"


def test_cli_explain_missing_btf_is_one_line(capsys, tmp_path):
    assert main(["explain", str(OBJECTS / "core_read.bpf.o"), "--btf",
                 str(tmp_path / "nope.btf")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot read target BTF" in err
