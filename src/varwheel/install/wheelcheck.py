"""Validation of a wheel archive before anything is written: ``check_wheel(path) -> CheckedWheel``.

Checks (each failure is an ``InstallError`` naming the wheel and the member):
the archive-level bounds and member-name rules of :mod:`varwheel.wheelzip` (zip bombs, lying
sizes, encrypted or non-deflate members, absolute / drive / ``..`` / backslash / non-canonical /
control-character / duplicate names, a name both a file and a directory), exactly one
``*.dist-info`` whose name and METADATA Name/Version match the filename (PEP 427, PEP 491),
Wheel-Version 1.x, every member listed in RECORD with a matching sha256 hash and size (members
listed but missing also fail; a name listed twice with different hashes fails), ``.data`` only
into known schemes, and for a labelled file a ``variant.json`` declaring exactly that label
(PEP 825 "variant.json ... MUST" for variant wheels).

Every member is streamed (CRC, declared size and RECORD hash checked chunk by chunk), never held
whole in memory; only the dist-info files read whole are, capped at ``MAX_METADATA_SIZE``
(RECORD: ``MAX_RECORD_SIZE``).
"""

from __future__ import annotations

import base64
import codecs
import csv
import hashlib
import json
import os
import stat
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from varwheel.errors import InstallError
from varwheel.spec.filenames import WheelFilename, parse_wheel_filename
from varwheel.wheelzip import (
    MAX_METADATA_SIZE,
    MAX_RECORD_SIZE,
    ArchiveError,
    check_entries,
    member_name_problem,
    open_zip,
    read_member,
    show,
    stream_member,
)

__all__ = ["CheckedWheel", "UnpackFailed", "UnpackedMember", "check_wheel"]

_SCHEMES = frozenset({"purelib", "platlib", "scripts", "headers", "data"})
# Signature files may be absent from RECORD (PEP 376 / PEP 491).
_UNRECORDED = ("RECORD", "RECORD.jws", "RECORD.p7s")
_HASHES = {"sha256", "sha384", "sha512"}


@dataclass(frozen=True)
class CheckedWheel:
    """A wheel that passed ``check_wheel``."""

    path: Path
    filename: WheelFilename
    name: str  # as written in METADATA
    project: NormalizedName
    version: str
    dist_info: str  # archive directory, e.g. ``demo_pkg-1.0.dist-info``
    root_is_purelib: bool
    label: str | None
    members: int
    # With ``check_wheel(..., unpack_to=DIR)``: every member written under DIR, in archive order
    unpacked: tuple[UnpackedMember, ...] = ()
    # The dist-info files validation read whole (``METADATA``, ``WHEEL``, ``entry_points.txt``,
    # ``variant.json``; bounded by ``MAX_METADATA_SIZE``), by name within the dist-info
    # directory: verification reads them here instead of opening the archive again. None when
    # the wheel was not read by this process (an unpacked-cache entry: see ``install.unpacked``).
    dist_info_files: Mapping[str, bytes] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class UnpackedMember:
    """A member written out by ``check_wheel(..., unpack_to=)``: its sha256 (urlsafe base64, as
    RECORD writes it), size and whether the archive marks it executable (as installer reads it)."""

    name: str
    sha256: str
    size: int
    executable: bool


class UnpackFailed(Exception):
    """Writing an unpacked member failed (the cache directory, not the wheel): ``error`` says why."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _fail(path: Path, reason: str) -> InstallError:
    return InstallError(f"{path.name}: {reason}; nothing was installed")


def _headers(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() not in out:
            out[key.strip().lower()] = value.strip()
    return out


def _check_member_name(path: Path, member: str) -> None:
    problem = member_name_problem(member)
    if problem is not None:
        raise _fail(path, f"unsafe path {show(member)} in archive ({problem})")


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except ValueError:  # InvalidVersion, or a number past int()'s 4,300-digit limit
        return a == b


def _short(text: str) -> str:
    """A header value for a one-line message: as is when short and printable, else cut."""
    return text if len(text) <= 100 and text.isprintable() else show(text)


def _digest(algorithm: str, chunks: Iterator[bytes]) -> tuple[str, int]:
    hasher = hashlib.new(algorithm)
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode("ascii"), size


def check_wheel(path: Path | str, *, unpack_to: Path | None = None) -> CheckedWheel:
    """Validate the archive at ``path`` completely: every member is streamed, hashed and
    size-checked against RECORD; memory stays bounded whatever the members unpack to.

    With ``unpack_to`` (a new, empty directory the caller discards when this raises), each
    member is also written there as it is hashed (one decompression for both), read-only
    (``0o444``, ``0o555`` when executable, less the umask); a failed write is ``UnpackFailed``."""
    path = Path(path)
    filename = parse_wheel_filename(path.name)
    try:
        archive_size = path.stat().st_size
        with open_zip(path) as archive:
            return _check_archive(path, filename, archive, archive_size, unpack_to)
    except OSError as exc:
        raise _fail(path, f"not a readable zip archive ({exc.strerror or exc})") from None
    except ArchiveError as exc:
        if exc.member is not None and exc.reason.startswith("corrupt"):
            raise _fail(path, f"corrupt member {show(exc.member)} {exc.reason[8:]}") from None
        if exc.member is not None and member_name_problem(exc.member) is not None:
            raise _fail(path, f"unsafe path {show(exc.member)} in archive ({exc.reason})") from None
        raise _fail(path, str(exc)) from None


def _check_archive(
    path: Path,
    filename: WheelFilename,
    archive: zipfile.ZipFile,
    archive_size: int,
    unpack_to: Path | None = None,
) -> CheckedWheel:
    all_infos = archive.infolist()
    check_entries(all_infos, archive_size)
    infos = {i.filename: i for i in all_infos if not i.is_dir()}

    tops = {n.split("/", 1)[0] for n in infos if "/" in n}
    dist_infos = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(dist_infos) != 1:
        raise _fail(path, f"expected one .dist-info directory, found {dist_infos or 'none'}")
    dist_info = dist_infos[0]
    di_name, _, di_version = dist_info[: -len(".dist-info")].rpartition("-")
    if canonicalize_name(di_name) != filename.project or not _same_version(
        di_version, str(filename.version)
    ):
        raise _fail(path, f"{dist_info} does not match the filename's name and version")

    read: dict[str, bytes] = {}

    def raw(member: str) -> bytes | None:
        info = infos.get(f"{dist_info}/{member}")
        if info is None:
            return None
        read[member] = data = read_member(archive, info, MAX_METADATA_SIZE)
        return data

    def text(member: str) -> str:
        data = raw(member)
        if data is None:
            raise _fail(path, f"{dist_info}/{member} is missing")
        return data.decode("utf-8", errors="replace")

    meta = _headers(text("METADATA"))
    name, version = meta.get("name", ""), meta.get("version", "")
    if canonicalize_name(name) != filename.project or not _same_version(
        version, str(filename.version)
    ):
        raise _fail(
            path, f"METADATA says {_short(name)} {_short(version)}, the filename says otherwise"
        )
    wheel = _headers(text("WHEEL"))
    if not wheel.get("wheel-version", "").startswith("1."):
        raise _fail(path, f"unsupported Wheel-Version {wheel.get('wheel-version')!r}")
    root_is_purelib = wheel.get("root-is-purelib", "").lower() == "true"
    # installer reads entry_points.txt whole: bounded like the other metadata files
    raw("entry_points.txt")

    unpacked = _check_record(path, dist_info, archive, infos, unpack_to)

    data_prefix = f"{dist_info[: -len('.dist-info')]}.data/"
    for member in infos:
        if member.startswith(data_prefix):
            scheme = member[len(data_prefix) :].split("/", 1)[0]
            if scheme not in _SCHEMES:
                raise _fail(path, f"{show(member)} is not in a known .data scheme")

    _check_variant(path, dist_info, filename.label, raw("variant.json"))
    return CheckedWheel(
        path=path,
        filename=filename,
        name=name,
        project=filename.project,
        version=version,
        dist_info=dist_info,
        root_is_purelib=root_is_purelib,
        label=filename.label,
        members=len(infos),
        unpacked=unpacked,
        dist_info_files=read,
    )


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Text lines (with their ``\n``) of a streamed member: RECORD is parsed as it is read,
    never held whole (csv joins the lines of a quoted field that spans several)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    for chunk in chunks:
        *lines, pending = (pending + decoder.decode(chunk)).split("\n")
        for line in lines:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _parse_record(
    path: Path, rows: Iterator[str], infos: dict[str, zipfile.ZipInfo]
) -> dict[str, tuple[str, str]]:
    """RECORD rows keyed by the archive's own name strings (no second copy of every name)."""
    listed: dict[str, tuple[str, str]] = {}
    try:
        for row in csv.reader(rows):
            if not row:
                continue
            if len(row) != 3:
                raise _fail(path, f"malformed RECORD row {_show_row(row)}")
            member, hash_field, size = row
            _check_member_name(path, member)
            info = infos.get(member)
            if info is None:
                raise _fail(path, f"RECORD lists {show(member)}, which is not in the archive")
            if listed.setdefault(info.filename, (hash_field, size)) != (hash_field, size):
                raise _fail(path, f"RECORD lists {show(member)} twice, differently")
    except csv.Error as exc:
        raise _fail(path, f"malformed RECORD ({exc})") from None
    return listed


def _show_row(row: list[str]) -> str:
    return show(",".join(row))


def _check_record(
    path: Path,
    dist_info: str,
    archive: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    unpack_to: Path | None = None,
) -> tuple[UnpackedMember, ...]:
    record = infos.get(f"{dist_info}/RECORD")
    if record is None:
        raise _fail(path, f"{dist_info}/RECORD is missing")
    if record.file_size > MAX_RECORD_SIZE:
        raise ArchiveError(
            f"too large to read ({record.file_size} bytes, at most {MAX_RECORD_SIZE})",
            record.filename,
        )
    listed = _parse_record(path, _lines(stream_member(archive, record)), infos)
    unrecorded = {f"{dist_info}/{n}" for n in _UNRECORDED}
    for member, info in infos.items():
        entry = listed.get(member)
        hash_field, size = entry if entry is not None else ("", "")
        if not hash_field:
            if member in unrecorded:
                continue
            if entry is None:
                raise _fail(path, f"{show(member)} is not listed in RECORD")
            raise _fail(path, f"RECORD has no hash for {show(member)}")
        algorithm = hash_field.partition("=")[0]
        if algorithm not in _HASHES:
            raise _fail(path, f"RECORD uses unsupported hash {show(algorithm)} for {show(member)}")
        if size and size != str(info.file_size):
            raise _fail(path, f"size mismatch for {show(member)} (RECORD says {show(size)})")
    # Only now read the data: every member streamed once (in archive order), CRC and declared
    # size checked by ``stream_member``, the RECORD hash computed chunk by chunk.
    unpacked: list[UnpackedMember] = []
    made: set[str] = set()
    for member, info in infos.items():
        hash_field = listed.get(member, ("", ""))[0]
        algorithm, _, expected = hash_field.partition("=")
        chunks = stream_member(archive, info)
        if unpack_to is None:
            digest = _digest(algorithm or "sha256", chunks)[0]
        else:
            digest, written = _unpack(unpack_to, info, algorithm or "sha256", chunks, made)
            unpacked.append(written)
        if hash_field and digest != expected:
            raise _fail(path, f"hash mismatch for {show(member)} (RECORD says {show(hash_field)})")
    return tuple(unpacked)


def _unpack(
    root: Path, info: zipfile.ZipInfo, algorithm: str, chunks: Iterator[bytes], made: set[str]
) -> tuple[str, UnpackedMember]:
    """Write one member under ``root`` while hashing it (RECORD's algorithm, and sha256 for
    the installed RECORD). Names were checked by ``check_entries`` before: relative, no ``..``,
    never both a file and a directory; ``O_EXCL | O_NOFOLLOW`` so nothing is written twice or
    through a link."""
    mode = info.external_attr >> 16
    executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
    hasher = hashlib.new(algorithm)
    sha256 = hasher if algorithm == "sha256" else hashlib.sha256()
    size = 0
    target = os.path.join(root, *info.filename.split("/"))
    try:
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        # created read-only: the mode binds later opens, not this descriptor
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(target, flags, 0o555 if executable else 0o444)
    except OSError as exc:
        raise UnpackFailed(exc) from None
    try:
        for chunk in chunks:
            hasher.update(chunk)
            if sha256 is not hasher:
                sha256.update(chunk)
            size += len(chunk)
            _write_all(fd, chunk)
    except OSError as exc:
        raise UnpackFailed(exc) from None
    finally:
        os.close(fd)
    return _b64(hasher.digest()), UnpackedMember(
        info.filename, _b64(sha256.digest()), size, executable
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_variant(path: Path, dist_info: str, label: str | None, data: bytes | None) -> None:
    if label is None:
        return
    if data is None:
        raise _fail(path, f"variant label {label!r} but no {dist_info}/variant.json")
    try:
        variants = json.loads(data)["variants"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(path, f"{dist_info}/variant.json is not valid JSON with 'variants'") from exc
    if not isinstance(variants, dict) or list(variants) != [label]:
        found = list(variants) if isinstance(variants, dict) else variants
        raise _fail(path, f"variant.json declares {found}, the filename says {label!r}")
