"""Raw zip writing for hostile-archive tests: every field under the test's control.

``zipfile`` refuses to write encrypted flags, unknown compression methods or lying sizes; the
attacks need exactly those, so this writes the PKWARE structures (APPNOTE 4.3) directly::

    from helpers.zips import RawMember, raw_zip, deflate_bomb

    data = raw_zip([RawMember("demo/x.py", b"X = 1\\n"), RawMember("a", b"", flags=0x1)])
    member = deflate_bomb("demo/big.bin", 1 << 30)  # 1 GiB of zeros in about 1 MiB

``valid_wheel_members(...)`` turns a dict of files into members with a correct RECORD, so that
a wheel is refused only for the one hostile thing a test adds.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from helpers.wheels import record_digest

__all__ = [
    "RawMember",
    "deflate_bomb",
    "deflated",
    "raw_zip",
    "repeated_deflate",
    "repeated_digest",
    "stored",
    "wheel_members",
]

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")


@dataclass(frozen=True)
class RawMember:
    """One member: ``payload`` is written as is (already compressed for ``method`` 8).

    ``crc``/``size``/``compressed_size`` default to the truth for a stored or deflated payload;
    set them to lie. ``name`` may be bytes (any byte, NUL included).
    """

    name: str | bytes
    payload: bytes
    method: int = 0
    flags: int = 0x800  # names are UTF-8
    crc: int | None = None
    size: int | None = None
    compressed_size: int | None = None
    external_attr: int = 0o644 << 16


def stored(name: str | bytes, data: bytes, **lies: int) -> RawMember:
    """A stored member; ``lies`` override header fields (``size=3``, ``flags=0x801``, ...)."""
    fields: dict[str, int] = {"crc": zlib.crc32(data), "size": len(data), **lies}
    return RawMember(name, data, method=0, **fields)  # type: ignore[arg-type]


def deflated(name: str | bytes, data: bytes, **lies: int) -> RawMember:
    """A deflated member; ``lies`` override header fields."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = c.compress(data) + c.flush()
    fields: dict[str, int] = {"crc": zlib.crc32(data), "size": len(data), **lies}
    return RawMember(name, payload, method=8, **fields)  # type: ignore[arg-type]


def repeated_deflate(name: str | bytes, chunk: bytes, count: int) -> RawMember:
    """``chunk`` repeated ``count`` times, deflated in milliseconds: a full flush resets the
    compressor, so every chunk compresses to the same block and the stream is that block
    repeated (plus the final empty block)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    return RawMember(name, block * count + tail, method=8, crc=crc, size=len(chunk) * count)


def deflate_bomb(name: str | bytes, size: int, *, chunk: int = 1 << 20) -> RawMember:
    """``size`` zero bytes (a multiple of ``chunk``) deflated at about 1000:1."""
    assert size % chunk == 0
    return repeated_deflate(name, bytes(chunk), size // chunk)


def repeated_digest(chunk: bytes, count: int) -> str:
    """RECORD hash of ``chunk * count`` without building it."""
    hasher = hashlib.sha256()
    for _ in range(count):
        hasher.update(chunk)
    return "sha256=" + base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode("ascii")


def _bytes(name: str | bytes) -> bytes:
    return name if isinstance(name, bytes) else name.encode("utf-8")


def raw_zip(members: Sequence[RawMember], *, comment: bytes = b"") -> bytes:
    """A zip archive of ``members`` in order (sizes and offsets must fit 32 bits; more than
    65,534 entries get zip64 end records)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = _bytes(m.name)
        crc = zlib.crc32(m.payload) if m.crc is None else m.crc
        size = len(m.payload) if m.size is None else m.size
        csize = len(m.payload) if m.compressed_size is None else m.compressed_size
        offset = len(out)
        out += _LOCAL.pack(
            b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21, crc, csize, size, len(name), 0
        )
        out += name + m.payload
        central += _CENTRAL.pack(
            b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0x21, crc, csize, size,
            len(name), 0, 0, 0, 0, m.external_attr, offset,
        )  # fmt: skip
        central += name
    cd_offset = len(out)
    out += central
    count = len(members)
    if count >= 0xFFFF:  # zip64 end record + locator carry the entry count
        record_at = len(out)
        out += _EOCD64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), cd_offset)
        out += _EOCD64_LOCATOR.pack(b"PK\x06\x07", 0, record_at, 1)
        count = 0xFFFF
    out += _EOCD.pack(b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, len(comment))
    return bytes(out + comment)


def wheel_members(
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    extra: Iterable[RawMember] = (),
    record_extra: Iterable[str] = (),
) -> list[RawMember]:
    """Stored members of a valid wheel (METADATA, WHEEL, RECORD) plus ``extra`` raw members,
    each listed in RECORD with the hash and size of its true content when it is stored (or
    ``record_extra`` rows given verbatim)."""
    di = f"{name}-{version}.dist-info"
    meta = {
        f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{di}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    members = [stored(n, d) for n, d in {**files, **meta}.items()]
    extra = list(extra)
    rows = [[m.name, record_digest(m.payload), str(len(m.payload))] for m in members]
    for m in extra:
        if m.method == 0 and isinstance(m.name, str):
            rows.append([m.name, record_digest(m.payload), str(len(m.payload))])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows)
    writer.writerow([f"{di}/RECORD", "", ""])
    record = (buf.getvalue() + "".join(f"{row}\n" for row in record_extra)).encode()
    return [*members, *extra, stored(f"{di}/RECORD", record)]
