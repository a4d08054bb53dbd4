"""Bounded, hostile-input-safe reading of wheel (zip) archives, for every reader in varwheel.

A wheel comes from an index or a user and may be built to hurt: a zip bomb, sizes that lie, an
encrypted or exotically compressed member, or member names that escape the target or confuse a
terminal. Everything here is checked from the central directory *before* a byte is decompressed,
and member data is only ever streamed in chunks of :data:`CHUNK` bytes, so that memory stays
bounded (see docs/DESIGN.md "Security invariants", "Wheel archives") whatever a
member unpacks to. Numbers, all documented in DESIGN:

- compression: stored (0) or deflate (8) only. Wheels are written with these (the ``wheel``
  tool, every build backend); bzip2/lzma (and zstd) are refused: ``zipfile`` decompresses them
  without an output bound, so one compressed chunk can expand to gigabytes in memory.
- at most :data:`MAX_MEMBERS` entries and a central directory of at most
  :data:`MAX_CENTRAL_DIRECTORY` bytes (checked from the end record before ``zipfile`` parses it).
- declared uncompressed size at most :data:`MAX_TOTAL_SIZE` in all; a member above
  :data:`RATIO_FLOOR` bytes may not expand more than :data:`MAX_RATIO` times its compressed size,
  and neither may the archive as a whole. Calibrated on the 1,014 wheels of a PyPI mirror
  (torch, tensorflow, nvidia-*, triton, ...): archives reach 17.7:1, but single members do reach
  1015:1 (onnx's 2.5 MB test tensors; deflate's limit is 1032:1), hence the 64 MiB floor.
- reading stops as soon as a member yields more bytes than the central directory declares; fewer
  bytes, or a CRC that does not match, is an error too.
- members read whole (METADATA, WHEEL, entry points, variant.json) are capped at
  :data:`MAX_METADATA_SIZE`, RECORD at :data:`MAX_RECORD_SIZE`.
- member names: see :func:`member_name_problem`.

Errors are :class:`ArchiveError` (one line, the member shown with ``repr`` so control characters
are escaped); each caller re-raises it as its own error class naming the wheel.
"""

from __future__ import annotations

import os
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from varwheel.errors import VarwheelError
from varwheel.fsutil import NotARegularFile, open_regular

__all__ = [
    "CHUNK",
    "MAX_CENTRAL_DIRECTORY",
    "MAX_MEMBERS",
    "MAX_METADATA_SIZE",
    "MAX_RATIO",
    "MAX_RECORD_SIZE",
    "MAX_TOTAL_SIZE",
    "RATIO_FLOOR",
    "SUPPORTED_METHODS",
    "ArchiveError",
    "check_entries",
    "entry_problem",
    "member_name_problem",
    "open_zip",
    "read_member",
    "show",
    "stream_member",
]

CHUNK = 1024 * 1024
MAX_MEMBERS = 60_000
MAX_CENTRAL_DIRECTORY = 16 * 1024 * 1024
MAX_TOTAL_SIZE = 16 * 1024**3
MAX_RATIO = 200
RATIO_FLOOR = 64 * 1024 * 1024
MAX_METADATA_SIZE = 16 * 1024 * 1024
MAX_RECORD_SIZE = 16 * 1024 * 1024
SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
MAX_NAME_BYTES = 4096
MAX_SEGMENT_BYTES = 255

_ENCRYPTED = 0x1
# Cc control, Cf format (bidi overrides, zero-width), Cs surrogates, Co private use, line and
# paragraph separators: a name holding one cannot be shown on one terminal line as it is.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_DRIVE = re.compile(r"[A-Za-z]:")
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_SHOWN_NAME = 160

# What zipfile raises on damaged or hostile input (UnicodeDecodeError for a member name that is
# flagged UTF-8 and is not, RuntimeError for encryption, NotImplementedError for a method).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
    OverflowError,
    IndexError,
    KeyError,
)


class ArchiveError(VarwheelError):
    """A zip archive that is unreadable or unsafe to unpack; ``str()`` is one line without the
    archive's name (the caller adds it)."""

    def __init__(self, reason: str, member: str | None = None) -> None:
        self.reason = reason
        self.member = member
        super().__init__(f"member {show(member)}: {reason}" if member is not None else reason)


def show(name: str) -> str:
    """``name`` for a one-line message: quoted, control characters escaped, long names cut."""
    if len(name) > _SHOWN_NAME:
        return repr(name[:_SHOWN_NAME]) + f"... ({len(name)} characters)"
    return repr(name)


def member_name_problem(name: str) -> str | None:
    """Why ``name`` may not be a member of a wheel (or listed in its RECORD), or None.

    Refused: empty names, control/invisible characters (NUL and newline included), absolute
    and drive paths (``/x``, ``C:x``, ``C:/x``), backslashes, and any ``..``, ``.`` or empty
    segment (``a//b``, ``./a``): such names are not canonical, and two of them can name one file
    (``x/x.py`` and ``x//x.py``) so that RECORD ends up wrong. A trailing ``/`` marks a
    directory entry and is allowed. Components are limited to 255 bytes, names to 4096.
    """
    if not name:
        return "empty member name"
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in name):
        return "name contains a control or invisible character"
    if name.startswith("/"):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive path"
    if "\\" in name:
        return "backslash in path (not a '/'-separated zip path)"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"name longer than {MAX_NAME_BYTES} bytes"
    segments = (name[:-1] if name.endswith("/") else name).split("/")
    for segment in segments:
        if segment == "..":
            return "path escapes the target ('..')"
        if segment in ("", "."):
            return "non-canonical path (empty or '.' component)"
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            return f"path component longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def entry_problem(
    name: str, *, flags: int, method: int, size: int, compressed_size: int
) -> str | None:
    """Why the central-directory entry may not be read, or None (name rules included)."""
    problem = member_name_problem(name)
    if problem is not None:
        return problem
    if flags & _ENCRYPTED:
        return "encrypted (wheels are never encrypted)"
    if method not in SUPPORTED_METHODS:
        return f"unsupported compression method {method} (wheels use stored or deflate)"
    if name.endswith("/") and size:
        return "directory entry with data"
    if method == zipfile.ZIP_STORED and size != compressed_size:
        return f"stored member declares {size} bytes but holds {compressed_size}"
    if size > MAX_TOTAL_SIZE:
        return f"declares {size} bytes, more than the {MAX_TOTAL_SIZE} bytes allowed"
    if size > RATIO_FLOOR and size > MAX_RATIO * compressed_size:
        return (
            f"expands {compressed_size} bytes to {size} (over {MAX_RATIO}:1 for a member above "
            f"{RATIO_FLOOR // (1024 * 1024)} MiB): refused as a zip bomb"
        )
    return None


def check_entries(infos: Sequence[zipfile.ZipInfo], archive_size: int) -> None:
    """All archive-level rules over ``infos``; raises :class:`ArchiveError` at the first
    problem (entries in central-directory order)."""
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{len(infos)} members, more than the {MAX_MEMBERS} allowed")
    total = 0
    seen: set[str] = set()
    files: list[str] = []
    for info in infos:
        name = info.filename
        problem = entry_problem(
            name,
            flags=info.flag_bits,
            method=info.compress_type,
            size=info.file_size,
            compressed_size=info.compress_size,
        )
        if problem is not None:
            raise ArchiveError(problem, name)
        if name in seen:
            raise ArchiveError("appears twice in the archive", name)
        seen.add(name)
        if not name.endswith("/"):
            files.append(name)
        total += info.file_size
    if total > MAX_TOTAL_SIZE:
        raise ArchiveError(
            f"members unpack to {total} bytes, more than the {MAX_TOTAL_SIZE} bytes allowed"
        )
    if total > RATIO_FLOOR and total > MAX_RATIO * max(archive_size, 1):
        raise ArchiveError(
            f"{archive_size} bytes unpack to {total} (over {MAX_RATIO}:1): refused as a zip bomb"
        )
    directories = {n[: n.rindex("/")] for n in files if "/" in n}
    directories |= {n.rstrip("/") for n in seen if n.endswith("/")}
    parents = {p for d in directories for p in _ancestors(d)}
    clash = sorted(set(files) & parents)
    if clash:
        raise ArchiveError("is both a file and a directory in the archive", clash[0])


def _ancestors(directory: str) -> Iterable[str]:
    while directory:
        yield directory
        directory = directory.rpartition("/")[0]


def _central_directory_bounds(fh: BinaryIO) -> tuple[int, int] | None:
    """``(entries, central directory size)`` from the end record, or None when there is none
    (``zipfile`` then gives its own error)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, _EOCD.size + 0xFFFF + _EOCD64_LOCATOR.size)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    while at >= 0 and len(tail) - at < _EOCD.size:
        at = tail.rfind(b"PK\x05\x06", 0, at)
    if at < 0:
        return None
    _sig, _d1, _d2, _n1, count, cd_size, _cd_offset, _clen = _EOCD.unpack_from(tail, at)
    if count != 0xFFFF and cd_size != 0xFFFFFFFF:
        return count, cd_size
    loc = at - _EOCD64_LOCATOR.size
    if loc < 0 or tail[loc : loc + 4] != b"PK\x06\x07":
        return count, cd_size
    record_at = _EOCD64_LOCATOR.unpack_from(tail, loc)[2]
    fh.seek(record_at)
    record = fh.read(_EOCD64.size)
    if len(record) < _EOCD64.size or record[:4] != b"PK\x06\x06":
        return None
    fields = _EOCD64.unpack(record)
    return fields[6], fields[8]


@contextmanager
def open_zip(file: Path | str | BinaryIO) -> Iterator[zipfile.ZipFile]:
    """``zipfile.ZipFile`` over ``file`` after bounding the central directory it will parse;
    an unreadable archive is an :class:`ArchiveError`."""
    fh = _open_regular(file) if isinstance(file, (str, Path)) else file
    try:
        try:
            bounds = _central_directory_bounds(fh)
            if bounds is not None:
                count, cd_size = bounds
                if count > MAX_MEMBERS:
                    raise ArchiveError(f"{count} members, more than the {MAX_MEMBERS} allowed")
                if cd_size > MAX_CENTRAL_DIRECTORY:
                    raise ArchiveError(
                        f"central directory of {cd_size} bytes, more than the "
                        f"{MAX_CENTRAL_DIRECTORY} allowed"
                    )
            fh.seek(0)
            archive = zipfile.ZipFile(fh)
        except _ZIP_ERRORS as exc:
            raise ArchiveError(f"not a readable zip archive ({_reason(exc)})") from None
        with archive:
            yield archive
    finally:
        if isinstance(file, (str, Path)):
            fh.close()


def _open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file: a FIFO or device named ``x.whl``
    must not block or stream forever (opened non-blocking, then checked with ``fstat``)."""
    try:
        return open_regular(path)
    except NotARegularFile:
        raise ArchiveError("not a regular file") from None
    except OSError as exc:
        raise ArchiveError(f"cannot be read ({exc.strerror or exc})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return repr(text)[1:-1] if not text.isprintable() else text


def stream_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in chunks of at most :data:`CHUNK`, never more than it declares.

    The entry must have passed :func:`entry_problem`. Reading stops with an
    :class:`ArchiveError` as soon as more bytes come than ``info.file_size``; fewer bytes, a
    bad CRC or a damaged stream are errors too (raised after the last chunk at the latest).
    """
    problem = entry_problem(
        info.filename,
        flags=info.flag_bits,
        method=info.compress_type,
        size=info.file_size,
        compressed_size=info.compress_size,
    )
    if problem is not None:
        raise ArchiveError(problem, info.filename)
    got = 0
    try:
        with archive.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                got += len(chunk)
                if got > info.file_size:
                    raise ArchiveError(
                        f"holds more than the {info.file_size} bytes it declares", info.filename
                    )
                yield chunk
    except ArchiveError:
        raise
    except _ZIP_ERRORS as exc:
        raise ArchiveError(f"corrupt ({_reason(exc)})", info.filename) from None
    if got != info.file_size:
        raise ArchiveError(f"holds {got} bytes but declares {info.file_size}", info.filename)


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_size: int = MAX_METADATA_SIZE
) -> bytes:
    """The whole member (streamed and checked), at most ``max_size`` bytes."""
    if info.file_size > max_size:
        raise ArchiveError(
            f"too large to read ({info.file_size} bytes, at most {max_size})", info.filename
        )
    return b"".join(stream_member(archive, info))
