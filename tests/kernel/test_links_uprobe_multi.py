"""uprobe.multi links (one BPF link on many functions of one binary; 6.6+)."""
from __future__ import annotations

import os
import subprocess

import pytest

import pybpf
from pybpf import features
from pybpf.errors import MissingHookError
from pybpf.links import attach, attach_uprobe_multi
from pybpf.uapi import LinkType

OBJ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bpf", "objects",
                   "links_umulti.bpf.o")
TARGET_C = r"""
#include <unistd.h>
__attribute__((noinline)) int step_one(int x) { asm volatile("" ::: "memory"); return x + 1; }
__attribute__((noinline)) int step_two(int x) { asm volatile("" ::: "memory"); return x * 2; }
__attribute__((noinline)) int other(int x) { asm volatile("" ::: "memory"); return x - 1; }
int main(void)
{
	char go;
	int v = 0;
	if (read(0, &go, 1) != 1)
		return 1;
	for (int i = 0; i < 5; i++)
		v = other(step_two(step_one(v)));
	return v == 0 ? 2 : 0;
}
"""


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("umulti")
    (tmp / "t.c").write_text(TARGET_C)
    exe = tmp / "t"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(tmp / "t.c")], check=True)
    return str(exe)


@pytest.fixture
def coll():
    support = features.has_link_type(LinkType.UPROBE_MULTI)
    if not support:
        pytest.skip(str(support))
    with pybpf.load(OBJ) as c:
        yield c


def hits(coll, key: int) -> int:
    value = coll.maps["hits"][key]
    return value if isinstance(value, int) else int.from_bytes(value, "little")


def run(target: str, make_links):
    proc = subprocess.Popen([target], stdin=subprocess.PIPE)
    try:
        links = make_links(proc.pid)
        proc.communicate(b"g", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    return links


def test_pattern_and_symbols_in_one_link_each(coll, target):
    links = run(target, lambda pid: [
        attach_uprobe_multi(coll.programs["on_entry"], target, pattern="step_*", pid=pid),
        attach(coll.programs["on_return"], binary=target, symbols=["other"], pid=pid)])
    try:
        assert links[0].kind == "uprobe.multi" and links[1].kind == "uretprobe.multi"
        assert links[0].info.type == LinkType.UPROBE_MULTI
        assert hits(coll, 0) == 10 and hits(coll, 1) == 5
    finally:
        for link in links:
            link.close()


def test_no_match_and_bad_arguments(coll, target):
    with pytest.raises(MissingHookError, match="nothing_like_this"):
        attach_uprobe_multi(coll.programs["on_entry"], target, pattern="nothing_like_this*")
    with pytest.raises(MissingHookError, match="absent"):
        attach_uprobe_multi(coll.programs["on_entry"], target, symbols=["absent"])
    with pytest.raises(ValueError):
        attach_uprobe_multi(coll.programs["on_entry"], target)
