"""A minimal bbolt file writer for tests: nested dicts become buckets (all
inline below the root page), bytes become values. Enough to record
runtime databases (containerd's meta.db) for the reader's tests."""
import struct

PAGE = 4096


def _fnv64a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _leaf(pgid, items):
    """A leaf page (unpadded) holding sorted items; dicts become inline buckets."""
    items = sorted(items.items())
    elems, data = b"", b""
    start = 16 + 16 * len(items)
    for i, (key, value) in enumerate(items):
        flags = 0
        if isinstance(value, dict):
            flags, value = 1, struct.pack("<QQ", 0, 0) + _leaf(0, value)
        pos = start + len(data) - (16 + 16 * i)
        elems += struct.pack("<IIII", flags, pos, len(key), len(value))
        data += key + value
    return struct.pack("<QHHI", pgid, 0x02, len(items), 0) + elems + data


def _meta(pgid, root, high, txid):
    body = struct.pack("<IIIIQQQQQ", 0xED0CDAED, 2, PAGE, 0, root, 0, 2, high, txid)
    return (struct.pack("<QHHI", pgid, 0x04, 0, 0) + body + struct.pack("<Q", _fnv64a(body))).ljust(PAGE, b"\0")


def bolt_bytes(tree):
    root = _leaf(3, tree)
    pages = -(-len(root) // PAGE)
    root = root[:12] + struct.pack("<I", pages - 1) + root[16:]
    freelist = struct.pack("<QHHI", 2, 0x10, 0, 0).ljust(PAGE, b"\0")
    return (_meta(0, 3, 3 + pages, 1) + _meta(1, 3, 3 + pages, 2) + freelist
            + root.ljust(pages * PAGE, b"\0"))
