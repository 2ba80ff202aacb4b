"""Turn a bzImage (vmlinuz) into the ELF vmlinux inside it.

qemu boots an ELF vmlinux through its PVH entry point, which skips the
real-mode setup and the self-decompressor (0.3 s instead of 3 s under TCG).
The bzImage header says where the compressed payload is; the payload is the
stripped ELF vmlinux compressed with xz, gzip, zstd (or lzma/lz4 on odd
kernels, which we refuse).
"""
from __future__ import annotations

import lzma
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Optional

ELF_MAGIC = b"\x7fELF"
_HDR_MAGIC = b"HdrS"


class ImageError(Exception):
    """The file is not a bzImage we can unpack."""


def kernel_release(image: bytes) -> Optional[str]:
    """The release string (``uname -r``) recorded in a bzImage header."""
    if len(image) < 0x210 or image[0x202:0x206] != _HDR_MAGIC:
        return None
    ptr = struct.unpack_from("<H", image, 0x20E)[0]
    if not ptr:
        return None
    start = ptr + 0x200
    end = image.find(b"\0", start, start + 256)
    if end < 0:
        return None
    words = image[start:end].decode("ascii", "replace").split()
    return words[0] if words else None


def payload(image: bytes) -> bytes:
    """The compressed payload of a bzImage (boot protocol >= 2.08)."""
    if len(image) < 0x250 or image[0x202:0x206] != _HDR_MAGIC:
        raise ImageError("no bzImage header (HdrS missing)")
    version = struct.unpack_from("<H", image, 0x206)[0]
    if version < 0x208:
        raise ImageError(f"boot protocol {version:#x} predates payload fields (2.08)")
    setup_sects = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + offset
    return image[start:start + length]


def _unzstd(data: bytes) -> bytes:
    tool = shutil.which("zstd")
    if tool is None:
        raise ImageError("payload is zstd-compressed and the zstd command is missing "
                         "(apt-get install zstd)")
    # Drop the 4-byte size trailer so zstd sees one clean frame.
    proc = subprocess.run([tool, "-dcq"], input=data[:-4], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise ImageError("zstd payload did not decompress: "
                         + proc.stderr.decode(errors="replace").strip())
    return proc.stdout


def decompress(data: bytes) -> bytes:
    """Decompress a kernel payload by its magic bytes.

    Every payload ends with the uncompressed size as little-endian u32 (gzip's
    own ISIZE, or the trailer the kernel build appends); the result is checked
    against it so a truncated image is caught here, not at boot.
    """
    if data.startswith(b"\xfd7zXZ\x00"):
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    elif data.startswith(b"\x1f\x8b"):
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    elif data.startswith(b"\x28\xb5\x2f\xfd"):
        out = _unzstd(data)
    else:
        raise ImageError(f"unsupported payload compression (magic {data[:6].hex()})")
    expected = struct.unpack_from("<I", data, len(data) - 4)[0]
    if len(out) & 0xFFFFFFFF != expected:
        raise ImageError(f"payload decompressed to {len(out)} bytes, header says {expected}")
    return out


def extract_vmlinux(image_path: Path, out: Path) -> None:
    """Write the ELF vmlinux of ``image_path`` (a bzImage or already ELF) to ``out``."""
    image = Path(image_path).read_bytes()
    if image.startswith(ELF_MAGIC):
        elf = image
    else:
        elf = decompress(payload(image))
    if not elf.startswith(ELF_MAGIC):
        raise ImageError(f"{image_path}: payload is not an ELF vmlinux")
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(elf)
    tmp.replace(out)

