"""Read one member of a remote zip (wheel) with HTTP range requests.

Three small reads instead of a whole download: the tail (end-of-central-directory record and,
for small wheels, the central directory), the central directory if it was not in the tail, then
the member's local header + data. A server that ignores ``Range`` answers 200 with the whole
file; the caller gets those bytes back so it can hash-check and cache them.

Hostile archives get the bounds of :mod:`varwheel.wheelzip`: the member read must pass
``entry_problem`` (no encryption, stored or deflate only, a safe name, sizes that agree, the
compression-ratio bound), is at most ``MAX_MEMBER_SIZE`` (16 MiB) both compressed and
uncompressed, decompression stops one byte past the declared size, and the central directory
fetched is at most ``MAX_CENTRAL_DIRECTORY`` bytes. Every failure is one ``IndexFetchError`` line.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from varwheel.errors import IndexFetchError, WheelMemberNotFound
from varwheel.index.http import Response
from varwheel.wheelzip import (
    MAX_CENTRAL_DIRECTORY,
    MAX_METADATA_SIZE,
    ArchiveError,
    entry_problem,
    open_zip,
    show,
)
from varwheel.wheelzip import (
    read_member as read_archive_member,
)

TAIL_SIZE = 16 * 1024
_EOCD = struct.Struct(
    "<4s4H2LH"
)  # signature, disk numbers, entry counts, cd size, cd offset, comment
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_MAX_EOCD_SEARCH = _EOCD.size + 0xFFFF  # the record plus the longest possible comment
MAX_MEMBER_SIZE = MAX_METADATA_SIZE


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int


@dataclass(frozen=True)
class MemberRead:
    """The member's bytes; ``whole`` holds the entire file when the server ignored ``Range``."""

    data: bytes
    whole: bytes | None
    requests: int


def select_member(names: Sequence[str], suffix: str, source: str) -> str:
    """The one member ending in ``suffix``; for ``.dist-info/...`` only the top-level dist-info."""
    found = [n for n in names if n.endswith(suffix)]
    if suffix.startswith(".dist-info/"):
        depth = suffix.count("/")
        found = [n for n in found if n.count("/") == depth]
    if not found:
        raise WheelMemberNotFound(f"{source}: wheel has no member ending in {suffix!r}")
    if len(found) > 1:
        raise IndexFetchError(f"{source}: wheel has several members ending in {suffix!r}")
    return found[0]


def find_eocd(tail: bytes, source: str) -> tuple[int, int, int] | None:
    """``(cd_offset, cd_size, eocd_index_in_tail)`` or None when the record is not in ``tail``.

    For zip64 archives ``cd_offset`` is -1 and the caller reads the zip64 record (see
    :func:`zip64_eocd_offset`).
    """
    idx = tail.rfind(b"PK\x05\x06")
    while idx >= 0 and len(tail) - idx < _EOCD.size:
        idx = tail.rfind(b"PK\x05\x06", 0, idx)
    if idx < 0:
        return None
    _sig, _d1, _d2, _n1, count, cd_size, cd_offset, _clen = _EOCD.unpack_from(tail, idx)
    if cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF or count == 0xFFFF:
        return -1, -1, idx
    return cd_offset, cd_size, idx


def zip64_eocd_offset(tail: bytes, eocd_index: int, source: str) -> int:
    """Absolute offset of the zip64 end-of-central-directory record (from its locator)."""
    at = eocd_index - _EOCD64_LOCATOR.size
    if at < 0 or tail[at : at + 4] != b"PK\x06\x07":
        raise IndexFetchError(f"{source}: zip64 archive without a zip64 locator")
    return _EOCD64_LOCATOR.unpack_from(tail, at)[2]


def parse_zip64_eocd(record: bytes, source: str) -> tuple[int, int]:
    if len(record) < _EOCD64.size or record[:4] != b"PK\x06\x06":
        raise IndexFetchError(f"{source}: bad zip64 end-of-central-directory record")
    fields = _EOCD64.unpack_from(record)
    return fields[9], fields[8]  # cd offset, cd size


def _zip64_extra(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            count = min(length, len(extra) - pos - 4) // 8
            values = list(struct.unpack_from(f"<{count}Q", extra, pos + 4))
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        pos += 4 + length
    return size, csize, offset


def parse_central_directory(cd: bytes, source: str) -> tuple[ZipEntry, ...]:
    entries: list[ZipEntry] = []
    pos = 0
    while pos + _CENTRAL.size <= len(cd) and cd[pos : pos + 4] == b"PK\x01\x02":
        f = _CENTRAL.unpack_from(cd, pos)
        flags, method, crc, csize, size = f[5], f[6], f[9], f[10], f[11]
        name_len, extra_len, comment_len, offset = f[12], f[13], f[14], f[18]
        start = pos + _CENTRAL.size
        raw_name = cd[start : start + name_len]
        extra = cd[start + name_len : start + name_len + extra_len]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        size, csize, offset = _zip64_extra(extra, size, csize, offset)
        entries.append(ZipEntry(name, method, flags, crc, csize, size, offset))
        pos = start + name_len + extra_len + comment_len
    if not entries:
        raise IndexFetchError(f"{source}: not a zip file (no central directory entries)")
    return tuple(entries)


def local_data_bounds(local: bytes, entry: ZipEntry, source: str) -> tuple[int, int]:
    """``(start, end)`` of the member's data relative to its local header."""
    if len(local) < _LOCAL.size or local[:4] != b"PK\x03\x04":
        raise IndexFetchError(f"{source}: bad local header for {show(entry.name)}")
    f = _LOCAL.unpack_from(local)
    start = _LOCAL.size + f[10] + f[11]
    return start, start + entry.compressed_size


def decompress(data: bytes, entry: ZipEntry, source: str, max_size: int = MAX_MEMBER_SIZE) -> bytes:
    check_entry(entry, source, max_size)
    if entry.method == zipfile.ZIP_STORED:
        out = data
    else:  # deflate (entry_problem refused the rest); never more than one byte past the size
        try:
            out = zlib.decompressobj(-15).decompress(data, entry.size + 1)
        except zlib.error as exc:
            raise IndexFetchError(f"{source}: {show(entry.name)} is corrupt ({exc})") from None
    if len(out) != entry.size or zlib.crc32(out) != entry.crc:
        raise IndexFetchError(f"{source}: {show(entry.name)} fails its CRC/size check")
    return out


def check_entry(entry: ZipEntry, source: str, max_size: int = MAX_MEMBER_SIZE) -> None:
    """Refuse, before any data is fetched, a member that must not be read (one line)."""
    if max(entry.size, entry.compressed_size) > max_size:
        raise IndexFetchError(
            f"{source}: {show(entry.name)} is too large ({entry.size} bytes, at most {max_size})"
        )
    problem = entry_problem(
        entry.name,
        flags=entry.flags,
        method=entry.method,
        size=entry.size,
        compressed_size=entry.compressed_size,
    )
    if problem is not None:
        raise IndexFetchError(f"{source}: member {show(entry.name)}: {problem}")


def read_zip_member(file: Path | BinaryIO, suffix: str, source: str) -> bytes:
    """The member ending in ``suffix`` of a local wheel or an in-memory one (the fallback route
    when a server ignores ``Range``); an unreadable or hostile zip is an
    :class:`IndexFetchError`."""
    try:
        with open_zip(file) as zf:
            name = select_member(zf.namelist(), suffix, source)
            return read_archive_member(zf, zf.getinfo(name), MAX_MEMBER_SIZE)
    except ArchiveError as exc:
        if "too large" in exc.reason:
            raise IndexFetchError(f"{source}: {show(exc.member or '')} is {exc.reason}") from None
        raise IndexFetchError(f"{source}: cannot read wheel: {exc}") from None


def _content_range(resp: Response, source: str) -> tuple[int, int]:
    """``(start, total)`` from ``Content-Range: bytes a-b/total``, checked against the body.

    The span must be well-formed, lie inside the file and match the body's length: a server
    that misreports it would otherwise make us parse the wrong bytes as zip structures.
    """
    value = resp.headers.get("content-range", "")
    try:
        unit, _, rest = value.strip().partition(" ")
        span, _, total_text = rest.partition("/")
        first, _, last = span.partition("-")
        start, end, total = int(first), int(last), int(total_text)
        if unit != "bytes" or not 0 <= start <= end < total:
            raise ValueError(value)
    except ValueError:
        raise IndexFetchError(f"{source}: 206 response with bad Content-Range {value!r}") from None
    if end - start + 1 != len(resp.body):
        raise IndexFetchError(
            f"{source}: 206 response of {len(resp.body)} bytes does not match its Content-Range "
            f"{value!r}"
        )
    return start, total


def read_member(
    fetch: Callable[[str], Response], suffix: str, source: str, *, tail_size: int = TAIL_SIZE
) -> MemberRead:
    """Read the member ending in ``suffix``; ``fetch(range_header)`` performs one GET."""
    requests = 1
    resp = fetch(f"bytes=-{tail_size}")
    if resp.status == 200:
        whole = resp.body
        return MemberRead(read_zip_member(io.BytesIO(whole), suffix, source), whole, requests)
    tail_start, total = _content_range(resp, source)
    tail = resp.body

    def span(start: int, end: int) -> bytes:
        """Bytes [start, end) of the file, from the tail when it has them."""
        nonlocal requests
        if start >= tail_start and end <= tail_start + len(tail):
            return tail[start - tail_start : end - tail_start]
        requests += 1
        got = fetch(f"bytes={start}-{end - 1}")
        if got.status != 206 or _content_range(got, source)[0] != start:
            raise IndexFetchError(f"{source}: server stopped honouring range requests")
        return got.body

    found = find_eocd(tail, source)
    if found is None and tail_start > 0:
        tail_start = max(0, total - _MAX_EOCD_SEARCH)
        tail = span(tail_start, total)
        found = find_eocd(tail, source)
    if found is None:
        raise IndexFetchError(f"{source}: not a zip file (no end-of-central-directory record)")
    cd_offset, cd_size, eocd_index = found
    if cd_offset < 0:
        record_at = zip64_eocd_offset(tail, eocd_index, source)
        cd_offset, cd_size = parse_zip64_eocd(span(record_at, record_at + 56), source)
    if cd_offset + cd_size > total:
        raise IndexFetchError(f"{source}: central directory lies outside the file")
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise IndexFetchError(
            f"{source}: central directory of {cd_size} bytes (at most {MAX_CENTRAL_DIRECTORY})"
        )
    entries = parse_central_directory(span(cd_offset, cd_offset + cd_size), source)
    name = select_member([e.name for e in entries], suffix, source)
    entry = next(e for e in entries if e.name == name)
    check_entry(entry, source)
    if entry.header_offset + entry.compressed_size > total:
        raise IndexFetchError(f"{source}: {show(name)} lies outside the file")
    # The local header repeats name and extra field; guess generously, then read what is missing.
    guess = _LOCAL.size + len(name.encode()) * 2 + 256 + entry.compressed_size
    local = span(entry.header_offset, min(total, entry.header_offset + guess))
    start, end = local_data_bounds(local, entry, source)
    if end > len(local):
        local += span(entry.header_offset + len(local), entry.header_offset + end)
    return MemberRead(decompress(local[start:end], entry, source), None, requests)
