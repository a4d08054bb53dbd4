"""Validation of a wheel archive before anything is written: ``check_wheel(path) -> CheckedWheel``.

Checks (each failure is an ``InstallError`` naming the wheel and the member):
zip integrity (CRC of every member), no absolute / ``..`` / backslash member paths, exactly one
``*.dist-info`` whose name and METADATA Name/Version match the filename (PEP 427, PEP 491),
Wheel-Version 1.x, every member listed in RECORD with a matching sha256 hash and size (members
listed but missing also fail), ``.data`` only into known schemes, and for a labelled file a
``variant.json`` declaring exactly that label (PEP 825 "variant.json ... MUST" for variant wheels).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import InstallError
from varwheel.spec.filenames import WheelFilename, parse_wheel_filename

__all__ = ["CheckedWheel", "check_wheel"]

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
    parts = member.split("/")
    if (
        member.startswith("/")
        or "\\" in member
        or re.match(r"^[A-Za-z]:", member)
        or ".." in parts
        or "\x00" in member
    ):
        raise _fail(path, f"unsafe path {member!r} in archive (absolute or escaping the target)")


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _digest(algorithm: str, data: bytes) -> str:
    raw = hashlib.new(algorithm, data).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def check_wheel(path: Path | str) -> CheckedWheel:
    """Validate the archive at ``path`` completely (reads and hashes every member)."""
    path = Path(path)
    filename = parse_wheel_filename(path.name)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, f"not a readable zip archive ({exc})") from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise _fail(path, "archive has duplicate member names")
        for name in names:
            _check_member_name(path, name)

        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        dist_infos = sorted(t for t in tops if t.endswith(".dist-info"))
        if len(dist_infos) != 1:
            raise _fail(path, f"expected one .dist-info directory, found {dist_infos or 'none'}")
        dist_info = dist_infos[0]
        di_name, _, di_version = dist_info[: -len(".dist-info")].rpartition("-")
        if canonicalize_name(di_name) != filename.project or not _same_version(
            di_version, str(filename.version)
        ):
            raise _fail(path, f"{dist_info} does not match the filename's name and version")

        contents: dict[str, bytes] = {}
        for info in infos:
            try:
                contents[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
                raise _fail(path, f"corrupt member {info.filename!r} ({exc})") from exc

    def text(member: str) -> str:
        data = contents.get(f"{dist_info}/{member}")
        if data is None:
            raise _fail(path, f"{dist_info}/{member} is missing")
        return data.decode("utf-8", errors="replace")

    meta = _headers(text("METADATA"))
    name, version = meta.get("name", ""), meta.get("version", "")
    if canonicalize_name(name) != filename.project or not _same_version(
        version, str(filename.version)
    ):
        raise _fail(path, f"METADATA says {name} {version}, the filename says otherwise")
    wheel = _headers(text("WHEEL"))
    if not wheel.get("wheel-version", "").startswith("1."):
        raise _fail(path, f"unsupported Wheel-Version {wheel.get('wheel-version')!r}")
    root_is_purelib = wheel.get("root-is-purelib", "").lower() == "true"

    _check_record(path, dist_info, text("RECORD"), contents)

    data_prefix = f"{dist_info[: -len('.dist-info')]}.data/"
    for member in contents:
        if member.startswith(data_prefix):
            scheme = member[len(data_prefix) :].split("/", 1)[0]
            if scheme not in _SCHEMES:
                raise _fail(path, f"{member!r} is not in a known .data scheme")

    _check_variant(path, dist_info, filename.label, contents)
    return CheckedWheel(
        path=path,
        filename=filename,
        name=name,
        project=filename.project,
        version=version,
        dist_info=dist_info,
        root_is_purelib=root_is_purelib,
        label=filename.label,
        members=len(contents),
    )


def _check_record(path: Path, dist_info: str, record: str, contents: dict[str, bytes]) -> None:
    listed: dict[str, tuple[str, str]] = {}
    for row in csv.reader(io.StringIO(record)):
        if not row:
            continue
        if len(row) != 3:
            raise _fail(path, f"malformed RECORD row {row!r}")
        member, hash_field, size = row
        _check_member_name(path, member)
        listed[member] = (hash_field, size)
    unrecorded = {f"{dist_info}/{n}" for n in _UNRECORDED}
    for member, data in contents.items():
        entry = listed.get(member)
        if entry is None:
            if member in unrecorded:
                continue
            raise _fail(path, f"{member!r} is not listed in RECORD")
        hash_field, size = entry
        if not hash_field:
            if member in unrecorded:
                continue
            raise _fail(path, f"RECORD has no hash for {member!r}")
        algorithm, _, expected = hash_field.partition("=")
        if algorithm not in _HASHES:
            raise _fail(path, f"RECORD uses unsupported hash {algorithm!r} for {member!r}")
        if _digest(algorithm, data) != expected:
            raise _fail(path, f"hash mismatch for {member!r} (RECORD says {hash_field})")
        if size and size != str(len(data)):
            raise _fail(path, f"size mismatch for {member!r} (RECORD says {size})")
    missing = sorted(set(listed) - set(contents))
    if missing:
        raise _fail(path, f"RECORD lists {missing[0]!r}, which is not in the archive")


def _check_variant(
    path: Path, dist_info: str, label: str | None, contents: dict[str, bytes]
) -> None:
    data = contents.get(f"{dist_info}/variant.json")
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
