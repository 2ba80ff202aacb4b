"""DNS message and frame parsing of trace_dns (pure)."""
import struct

import pytest

from pybpf_gadgets.trace_dns import DNSParseError, parse_dns, parse_frame


def question(name: str, qtype: int) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + \
        struct.pack("!HH", qtype, 1)


def test_query_and_compressed_answers():
    q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + question("www.example.org", 1)
    assert parse_dns(q) == {"id": 7, "qr": "Q", "rcode_raw": 0, "name": "www.example.org.",
                            "qtype_raw": 1, "answers": []}
    r = struct.pack("!HHHHHH", 7, 0x8180, 1, 3, 0, 0) + question("www.example.org", 1)
    r += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 6) + b"\x03web\xc0\x10"  # CNAME web.example.org
    r += b"\xc0\x2d" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 0, 0, 1])
    r += b"\xc0\x2d" + struct.pack("!HHIH", 28, 1, 60, 16) + bytes(15) + b"\x01"
    out = parse_dns(r)
    assert out["qr"] == "R" and out["answers"] == ["web.example.org.", "10.0.0.1", "::1"]


def test_bad_messages():
    with pytest.raises(DNSParseError):
        parse_dns(b"\0" * 5)
    loop = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c"
    with pytest.raises(DNSParseError):
        parse_dns(loop)


def test_frames():
    udp = struct.pack("!HHHH", 40000, 53, 20, 0) + b"payload"
    v4 = bytes(12) + b"\x08\x00" + bytes([0x45]) + bytes(11) + bytes([127, 0, 0, 1]) + \
        bytes([127, 0, 0, 53]) + udp
    assert parse_frame(v4) == (4, "127.0.0.1", 40000, "127.0.0.53", 53, b"payload")
    v6 = bytes(12) + b"\x86\xdd" + bytes(8) + bytes(15) + b"\x01" + bytes(15) + b"\x02" + udp
    assert parse_frame(v6) == (6, "::1", 40000, "::2", 53, b"payload")
    assert parse_frame(bytes(12) + b"\x08\x06" + bytes(30)) is None
