"""`pybpf run GADGET`'s parser made for the words it parses (gadgets.cli.run.gadget_parser
with argv: only the options they may name) reads every command line as the whole parser
does: the same values and defaults, the same one-line errors."""
import pytest

from pybpf_gadgets import registry
from pybpf_gadgets.cli import run as cli_run

COMMON = [
    [], ["-o", "json"], ["-ojson"], ["--output=yaml"], ["-o", "nope"], ["--pid", "42"],
    ["--pi", "42"], ["--pid=7", "--uid", "0"], ["--pid", "x"], ["--pid", "-1"], ["--t", "1"],
    ["--tim", "2s"], ["--timeout=500ms"], ["-c", "web", "-c", "db"], ["-cweb"],
    ["--container", "a", "--filter", "proc.pid>1", "--filter=proc.comm=sh"], ["-Tt"], ["-T", "-t"],
    ["--host"], ["--ho"], ["--comm", "bash"], ["--comm", "x" * 20], ["--fields=-args"],
    ["--fields", "proc.comm,proc.pid"], ["--bogus"], ["--", "-o"], ["word"],
    ["--max-entries", "5"], ["--ring-size", "256K"], ["--runtimes", "docker,podman"],
    ["--k8s-selector", "a=b"], ["--k8s-namespace", "ns", "--k8s-p", "pod"],
]


def _argvs(gadget):
    out = list(COMMON)
    for param in gadget.params:
        for spelling in param.options:
            if param.is_switch:
                out.append([spelling])
            elif param.default is not None:
                out.append([spelling, str(param.default)])
                out.append([f"{spelling}=nonsense"])
    return out


def _parse(parser, argv, capsys):
    try:
        return ("ok", vars(parser.parse_args(argv)))
    except SystemExit as exc:
        return ("exit", exc.code, capsys.readouterr().err)


@pytest.mark.parametrize("name", sorted(registry.entries()))
def test_the_parser_of_a_run_reads_it_as_the_whole_one(name, capsys):
    gadget = registry.get(name)
    for argv in _argvs(gadget):
        whole = _parse(cli_run.gadget_parser(gadget), argv, capsys)
        lean = _parse(cli_run.gadget_parser(gadget, argv), argv, capsys)
        assert lean == whole, argv


@pytest.mark.parametrize("argv", [["-h"], ["--he"], ["-o", "json", "--help"], ["-Th"]])
def test_a_help_gets_the_whole_parser(argv, capsys):
    gadget = registry.get("trace_exec")
    with pytest.raises(SystemExit):
        cli_run.gadget_parser(gadget).parse_args(["--help"])
    whole = capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_run.gadget_parser(gadget, argv).parse_args(argv)
    assert capsys.readouterr().out == whole and "fields (for --fields" in whole
