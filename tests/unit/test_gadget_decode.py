"""Decoding helpers: argv blocks, leaf-first paths, C strings, clocks."""
import time

from pybpf_gadgets.common import decode


def test_split_strings():
    buf = b"ls\0-l\0/tmp\0" + bytes(20)
    assert decode.split_strings(buf, 11) == ["ls", "-l", "/tmp"]
    assert decode.split_strings(buf, 8) == ["ls", "-l", "/t"]  # cut-off last kept
    assert decode.split_strings(buf, 0) == []


def test_join_path():
    buf = b"file\0dir\0usr\0" + bytes(8)
    assert decode.join_path(buf, 13) == "/usr/dir/file"
    assert decode.join_path(buf, 13, truncated=True) == ".../usr/dir/file"
    assert decode.join_path(b"", 0) == "/"


def test_cstr_forms():
    assert decode.cstr("bash\0junk") == "bash"
    assert decode.cstr(b"bash\0junk") == "bash"
    assert decode.cstr([98, 97, 0, 120]) == "ba"


def test_clock_iso_is_now():
    clock = decode.Clock()
    iso = clock.iso(time.clock_gettime_ns(time.CLOCK_BOOTTIME))
    assert iso.endswith("Z") and iso[:4] == time.strftime("%Y", time.gmtime())


def test_clock_iso_across_seconds_and_back():
    """The second's prefix kept between events gives the text of the whole
    computation, for stamps in and out of order across second boundaries."""
    clock = decode.Clock()
    now = time.clock_gettime_ns(time.CLOCK_BOOTTIME)

    def plain(boot_ns):
        sec, ns = divmod(boot_ns + clock.offset_ns, 1_000_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns // 1000:06d}Z"

    stamps = [now + d for d in range(-2_000_000_000, 2_000_000_000, 77_777_777)]
    stamps += [now - 5, now + 999, 0, 1, now]
    for stamp in stamps:
        assert clock.iso(stamp) == plain(stamp)
