"""Unit tests of vmtests' pure parts: no qemu, no network, no root."""
from __future__ import annotations

import io
import lzma
import gzip
import stat
import struct

import pytest

from vmtests import bzimage, collect, guest_filter
from vmtests.cpio import CpioWriter
from vmtests.kernels import KernelError, host_mirror
from vmtests.modules import ModuleError, ModuleTree, depends, modinfo
from vmtests.results import Counts, KernelResult, closing_line, table


# ---------------------------------------------------------------- cpio

def read_newc(data: bytes):
    entries, pos = [], 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_start = pos + 110
        name = data[name_start:name_start + namesize - 1].decode()
        body = name_start + namesize
        body += -body % 4
        content = data[body:body + filesize]
        pos = body + filesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            return entries
        entries.append((name, fields[1], content, (fields[9], fields[10])))


def test_cpio_round_trip():
    out = io.BytesIO()
    cpio = CpioWriter(out)
    cpio.directory("bin")
    cpio.file("/bin/busybox", b"\x7fELF" + b"x" * 5, 0o755)
    cpio.symlink("bin/sh", "busybox")
    cpio.chardev("dev/console", 5, 1)
    cpio.close()
    data = out.getvalue()
    assert len(data) % 4 == 0
    entries = read_newc(data)
    assert [e[0] for e in entries] == ["bin", "bin/busybox", "bin/sh", "dev/console"]
    assert stat.S_ISDIR(entries[0][1])
    assert entries[1][2] == b"\x7fELFxxxxx" and stat.S_IMODE(entries[1][1]) == 0o755
    assert stat.S_ISLNK(entries[2][1]) and entries[2][2] == b"busybox"
    assert stat.S_ISCHR(entries[3][1]) and entries[3][3] == (5, 1)


# ---------------------------------------------------------------- bzImage

FAKE_ELF = b"\x7fELF" + bytes(range(256)) * 40


def make_bzimage(payload: bytes, release: str = "6.1.0-99-amd64", setup_sects: int = 3,
                 version: int = 0x20F) -> bytes:
    setup = bytearray((setup_sects + 1) * 512)
    setup[0x1F1] = setup_sects
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    text = f"{release} (builder@host) #1 SMP".encode() + b"\0"
    text_at = 0x400
    setup[text_at:text_at + len(text)] = text
    struct.pack_into("<H", setup, 0x20E, text_at - 0x200)
    struct.pack_into("<II", setup, 0x248, 16, len(payload))
    return bytes(setup) + bytes(16) + payload + bytes(8)


def with_size(data: bytes) -> bytes:
    return data + struct.pack("<I", len(FAKE_ELF))


@pytest.mark.parametrize("compress", [
    lambda d: with_size(lzma.compress(d, format=lzma.FORMAT_XZ)),
    gzip.compress,
], ids=["xz", "gzip"])
def test_bzimage_payload_decompresses(tmp_path, compress):
    image = make_bzimage(compress(FAKE_ELF))
    assert bzimage.kernel_release(image) == "6.1.0-99-amd64"
    path = tmp_path / "vmlinuz"
    path.write_bytes(image)
    bzimage.extract_vmlinux(path, tmp_path / "vmlinux")
    assert (tmp_path / "vmlinux").read_bytes() == FAKE_ELF


def test_bzimage_elf_passes_through(tmp_path):
    (tmp_path / "vmlinux.in").write_bytes(FAKE_ELF)
    bzimage.extract_vmlinux(tmp_path / "vmlinux.in", tmp_path / "vmlinux")
    assert (tmp_path / "vmlinux").read_bytes() == FAKE_ELF


def test_bzimage_errors():
    with pytest.raises(bzimage.ImageError, match="HdrS"):
        bzimage.payload(bytes(4096))
    with pytest.raises(bzimage.ImageError, match="2.08"):
        bzimage.payload(make_bzimage(b"", version=0x206))
    with pytest.raises(bzimage.ImageError, match="compression"):
        bzimage.decompress(b"BZh9" + bytes(16))
    bad_size = lzma.compress(FAKE_ELF, format=lzma.FORMAT_XZ) + struct.pack("<I", 7)
    with pytest.raises(bzimage.ImageError, match="header says 7"):
        bzimage.decompress(bad_size)


# ---------------------------------------------------------------- modules

def make_module(info: dict) -> bytes:
    """A minimal ELF64 with a .modinfo section (null, .modinfo, .shstrtab)."""
    modinfo_data = b"".join(f"{k}={v}".encode() + b"\0" for k, v in info.items())
    shstrtab = b"\0.modinfo\0.shstrtab\0"
    body = modinfo_data + shstrtab
    shoff = 64 + len(body)
    shoff += -shoff % 8
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x28, shoff)
    struct.pack_into("<HHH", header, 0x3A, 64, 3, 2)
    sections = bytes(64)
    sections += struct.pack("<IIQQQQIIQQ", 1, 1, 0, 0, 64, len(modinfo_data), 0, 0, 1, 0)
    sections += struct.pack("<IIQQQQIIQQ", 10, 3, 0, 0, 64 + len(modinfo_data),
                            len(shstrtab), 0, 0, 1, 0)
    return bytes(header) + body + bytes(shoff - 64 - len(body)) + sections


def test_modinfo_depends():
    elf = make_module({"license": "GPL", "depends": "virtio,virtio-ring", "name": "x"})
    assert modinfo(elf)["license"] == ["GPL"]
    assert depends(elf) == ["virtio", "virtio_ring"]
    assert depends(make_module({"depends": ""})) == []
    with pytest.raises(ModuleError):
        modinfo(b"not an elf" * 10)


def test_module_closure_orders_dependencies_first(tmp_path):
    kernel = tmp_path / "kernel"
    kernel.mkdir()
    (kernel / "9p.ko.xz").write_bytes(lzma.compress(make_module({"depends": "9pnet,netfs"})))
    (kernel / "9pnet.ko").write_bytes(make_module({"depends": ""}))
    (kernel / "netfs.ko.gz").write_bytes(gzip.compress(make_module({"depends": "9pnet"})))
    (kernel / "overlay.ko").write_bytes(make_module({"depends": ""}))
    (tmp_path / "modules.builtin").write_text("kernel/drivers/virtio/virtio_pci.ko\n")
    tree = ModuleTree.scan(tmp_path)
    assert tree.closure(["virtio_pci", "9p", "overlay"]) == ["9pnet", "netfs", "9p", "overlay"]
    with pytest.raises(ModuleError, match="virtio_console"):
        tree.closure(["virtio_console"])


def test_module_cycle_is_reported(tmp_path):
    (tmp_path / "a.ko").write_bytes(make_module({"depends": "b"}))
    (tmp_path / "b.ko").write_bytes(make_module({"depends": "a"}))
    with pytest.raises(ModuleError, match="cycle"):
        ModuleTree.scan(tmp_path).closure(["a"])


# ---------------------------------------------------------------- host mirror

def test_host_mirror_deb822_and_one_line(tmp_path):
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "other.sources").write_text(
        "Types: deb\nURIs: https://example.invalid/apt\nSuites: x\nComponents: main\n")
    (parts / "debian.sources").write_text(
        "Types: deb\n# comment\nURIs: http://mirror.invalid/debian/\nSuites: bookworm\n"
        "Components: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n"
        "Components: main\n")
    (parts / "off.list.disabled").write_text("deb http://elsewhere.invalid/debian sid main\n")
    assert host_mirror(tmp_path) == ("http://mirror.invalid/debian",
                                     "http://mirror.invalid/debian-security",
                                     "/usr/share/keyrings/k.gpg")
    other = tmp_path / "one-line"
    other.mkdir()
    (other / "sources.list").write_text(
        "# deb http://commented.invalid/debian sid main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://m.invalid/debian bookworm main\n")
    archive, security, keyring = host_mirror(other)
    assert archive == "http://m.invalid/debian"
    assert security == "http://m.invalid/debian-security"
    assert keyring == "/k.gpg"
    with pytest.raises(KernelError, match="/debian"):
        host_mirror(tmp_path / "missing")


# ---------------------------------------------------------------- results

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites>
<testsuite name="pytest" errors="1" failures="2" skipped="3" tests="10" time="1.5"/>
</testsuites>"""


def test_counts_from_junit(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    assert Counts.from_junit(path) == Counts(passed=4, failed=2, errors=1, skipped=3)
    path.write_text("<testsuites><testsuite")
    assert Counts.from_junit(path) is None
    assert Counts.from_junit(tmp_path / "absent.xml") is None


def test_table_and_closing_line():
    results = [
        KernelResult("6.1", "6.1.0-56-amd64", "ok", Counts(70, 0, 0, 5), 6.5, 30.25, 37.0, 1),
        KernelResult("5.10", "", "no-report", None, None, None, 240.0, 2),
    ]
    text = table(results).splitlines()
    assert text[0].split() == ["kernel", "release", "passed", "failed", "skipped", "boot", "run",
                               "total", "result"]
    assert text[1].split() == ["6.1", "6.1.0-56-amd64", "70", "0", "5", "6.5s", "30.2s", "37.0s",
                               "ok"]
    assert text[2].split()[:2] == ["5.10", "-"]
    assert text[2].endswith("no-report (2 boots)")
    assert closing_line(results) == "vmtests: 70 passed, 0 failed, 5 skipped"


# ---------------------------------------------------------------- selection

def test_host_collection_lists_selected_files(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    vm: guest subset\n")
    (tmp_path / "test_a.py").write_text(
        "import pytest\n@pytest.mark.vm\ndef test_one(): pass\ndef test_two(): pass\n")
    (tmp_path / "test_b.py").write_text("def test_three(): pass\n")
    import sys
    files, count = collect.selected_files(sys.executable, tmp_path, ["-m", "vm"])
    assert (files, count) == (["test_a.py"], 1)
    files, count = collect.selected_files(sys.executable, tmp_path, ["-qq"])
    assert (sorted(files), count) == (["test_a.py", "test_b.py"], 3)
    assert collect.selected_files(sys.executable, tmp_path, ["-m", "nothing"]) == ([], 0)


def test_host_collection_keeps_modules_that_skip_themselves(tmp_path):
    import sys
    (tmp_path / "test_guest_only.py").write_text(
        "import pytest\npytest.skip('needs kprobes', allow_module_level=True)\n"
        "def test_kprobe(): pass\n")
    (tmp_path / "test_c.py").write_text("def test_four(): pass\n")
    files, count = collect.selected_files(sys.executable, tmp_path, [])
    assert (sorted(files), count) == (["test_c.py", "test_guest_only.py"], 2)
    files, count = collect.selected_files(sys.executable, tmp_path, ["test_guest_only.py"])
    assert (files, count) == (["test_guest_only.py"], 1)


def test_guest_filter_ignores_unselected_files(tmp_path, monkeypatch):
    listing = tmp_path / "files.txt"
    listing.write_text(f"{tmp_path / 'test_a.py'}\n")
    monkeypatch.setenv(guest_filter.ENV, str(listing))
    monkeypatch.setattr(guest_filter, "_allowed", None)
    ignore = guest_filter.pytest_ignore_collect
    assert ignore(tmp_path / "test_a.py", None) is None
    assert ignore(tmp_path / "test_b.py", None) is True
    assert ignore(tmp_path / "conftest.py", None) is None
    assert ignore(tmp_path / "sub", None) is None


def test_arch_names_and_per_arch_qemu(tmp_path):
    from pathlib import Path
    from vmtests.kernels import Kernel, arch_of
    from vmtests.vm import qemu_argv
    assert arch_of("x86_64") == "amd64" and arch_of("aarch64") == arch_of("arm64") == "arm64"
    with pytest.raises(KernelError, match="unknown architecture 'mips'"):
        arch_of("mips")
    arm = Kernel("6.12", "6.12.118+deb13-arm64", "", tmp_path, "arm64")
    assert arm.vmlinux == tmp_path / "Image"
    argv = qemu_argv(arm, tmp_path, Path("/co"), "2G", 1, root=Path("/ul/root"))
    assert argv[0].endswith("qemu-system-aarch64")
    assert "max,pauth-impdef=on" in argv and "virt" in argv
    assert "console=ttyAMA0" in argv[argv.index("-append") + 1]
    assert any("path=/ul/root,readonly=on" in a for a in argv)
    x86 = qemu_argv(Kernel("6.1", "6.1.0-1-amd64", "", tmp_path), tmp_path, Path("/co"), "2G", 1)
    assert x86[0].endswith("qemu-system-x86_64") and any("path=/,readonly=on" in a for a in x86)
    assert "console=ttyS0" in x86[x86.index("-append") + 1]


def test_apt_root_is_per_arch(tmp_path):
    from vmtests.kernels import AptRoot
    opts = " ".join(AptRoot(tmp_path, "arm64")._options())
    assert "APT::Architectures=arm64" in opts and "APT::Architecture=arm64" in opts


def test_checkout_install_for_foreign_userland(tmp_path):
    import importlib.metadata
    from pathlib import Path
    from vmtests.vm import write_checkout_install
    checkout = Path(__file__).resolve().parents[2]
    write_checkout_install(tmp_path / "pylib", checkout)
    assert (tmp_path / "pylib" / "pybpf_gadgets").resolve() == checkout / "gadgets"
    dists = list(importlib.metadata.distributions(path=[str(tmp_path / "pylib")]))
    assert [d.metadata["Name"] for d in dists] == ["pybpf"]
    groups = {e.group for e in dists[0].entry_points}
    assert {"console_scripts", "pybpf.commands", "pybpf.gadgets"} <= groups
