"""Post-tagging: turn a plain wheel into a variant wheel and back, reproducibly.

``make_variant`` adds ``*.dist-info/variant.json`` (PEP 825 §"variant.json"), rewrites RECORD and
appends the label to the file name; ``unmake_variant`` removes both. The archive is rewritten,
never patched in place:

- the input is validated first (RECORD hashes, names), so a broken wheel is never "repaired" by
  recomputing its hashes;
- RECORD is read and written with the csv module (paths with commas or quotes stay intact), every
  hash recomputed (sha256), RECORD itself last with empty hash and size;
- members are written in a fixed order (package files sorted, then ``*.dist-info`` sorted, RECORD
  last), without zip extra fields or comments; timestamps are kept, or all set to
  ``SOURCE_DATE_EPOCH`` when it is set; each member keeps its compression method, so two runs
  on the same input give byte-identical wheels;
- the result is written under a temporary name in ``out_dir``, re-read with our own validator
  (``install.wheelcheck.check_wheel`` and the ``variant.json`` loader) and only then renamed
  into place.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from varwheel.build.errors import InvalidWheel, OutputNotWritten
from varwheel.build.request import check_build_label, inline_static
from varwheel.errors import InstallError, InvalidInput
from varwheel.spec.filenames import WheelFilename, parse_wheel_filename
from varwheel.spec.metadata import dump_json, load_wheel_variant_json
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import (
    NULL_LABEL,
    VariantProperty,
    canonical_properties,
    default_label,
)
from varwheel.spec.validation import ABI_DEPENDENCY
from varwheel.wheelzip import (
    MAX_METADATA_SIZE,
    ArchiveError,
    check_entries,
    open_zip,
    read_member,
    stream_member,
)

__all__ = [
    "WheelVariant",
    "make_variant",
    "read_wheel_variant",
    "relabel",
    "source_date",
    "unmake_variant",
]

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_MAX = (2107, 12, 31, 23, 59, 58)
_ZIP_MAX_EPOCH = 4354819198  # _ZIP_MAX as seconds since 1970
_SIGNATURES = ("RECORD.jws", "RECORD.p7s")  # invalid once RECORD changes: dropped
_KEEP = object()  # rewrite(): keep the wheel's variant.json as it is


def source_date(environ: dict[str, str] | None = None) -> tuple[int, ...] | None:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org) as a zip date, clamped to the zip range;
    None when unset. A malformed value is an error, not silently ignored."""
    env = os.environ if environ is None else environ
    raw = env.get("SOURCE_DATE_EPOCH")
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    shown = repr(text[:40] + ("..." if len(text) > 40 else ""))
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise InvalidInput(f"SOURCE_DATE_EPOCH={shown} is not an integer")
    if text.startswith("-"):
        return _ZIP_EPOCH  # before zip's first date: clamped
    if len(text) > 12:  # past zip's last date (2107) whatever the digits; int() may refuse them
        return _ZIP_MAX
    seconds = int(text)
    if seconds >= _ZIP_MAX_EPOCH:
        return _ZIP_MAX
    return tuple(time.gmtime(max(seconds, 315532800))[:6])  # 1980-01-01: zip's first date


@dataclass(frozen=True)
class WheelVariant:
    """What a wheel says about its variant: file name label and ``variant.json``."""

    filename: WheelFilename
    dist_info: str
    variant_json: bytes | None
    metadata: VariantMetadata | None  # loaded and checked against the label when labelled

    @property
    def label(self) -> str | None:
        return self.filename.label

    @property
    def properties(self) -> tuple[VariantProperty, ...]:
        if self.metadata is None or self.label is None:
            return ()
        return self.metadata.variants[self.label]


def _check_input(wheel: Path) -> str:
    """Validate ``wheel`` completely; return its ``*.dist-info`` directory name."""
    from varwheel.install.wheelcheck import check_wheel

    if not wheel.exists():
        raise InvalidWheel(f"{wheel}: no such wheel file")
    if not wheel.is_file():
        raise InvalidWheel(f"{wheel}: not a regular file")
    try:
        return check_wheel(wheel).dist_info
    except InstallError as err:
        raise InvalidWheel(str(err).removesuffix("; nothing was installed")) from None


def read_wheel_variant(wheel: Path | str) -> WheelVariant:
    """Validate ``wheel`` and read its label and ``variant.json`` (label and document must agree;
    PEP 825 §"variant.json")."""
    path = Path(wheel)
    filename = parse_wheel_filename(path.name)
    dist_info = _check_input(path)
    data = None
    try:
        with open_zip(path) as archive, contextlib.suppress(KeyError):
            info = archive.getinfo(f"{dist_info}/variant.json")
            data = read_member(archive, info, MAX_METADATA_SIZE)
    except ArchiveError as exc:
        raise InvalidWheel(f"{path.name}: {exc}") from None
    metadata = None
    if filename.label is not None and data is not None:
        metadata = load_wheel_variant_json(
            data, filename.label, source=f"{path.name}:{dist_info}/variant.json"
        )
    return WheelVariant(filename, dist_info, data, metadata)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _order(name: str, dist_info: str) -> tuple[int, str]:
    if name == f"{dist_info}/RECORD":
        return (2, name)
    return (1 if name.startswith(f"{dist_info}/") else 0, name)


def _entry(name: str, source: zipfile.ZipInfo, date: tuple[int, ...] | None) -> zipfile.ZipInfo:
    """A fresh member header: ``source``'s compression, system and permissions, no extra field
    (it may hold mtimes), the ``SOURCE_DATE_EPOCH`` date when given."""
    info = zipfile.ZipInfo(name, date or source.date_time)
    info.compress_type = source.compress_type
    info.create_system = source.create_system
    info.external_attr = source.external_attr
    info.file_size = source.file_size  # zipfile decides on zip64 from it
    return info


def _rewrite(
    wheel: Path,
    out_dir: Path,
    *,
    label: str | None,
    variant_json: bytes | object | None,
    dist_info: str,
) -> Path:
    """Write ``wheel`` again into ``out_dir`` with ``label`` and ``variant_json`` (None: remove,
    ``_KEEP``: as it is); return the new path (validated before it is moved into place).

    Members are streamed (a CUDA wheel is gigabytes) and hashed as they are written; RECORD,
    written last, lists what was written."""
    filename = parse_wheel_filename(wheel.name).with_label(label)
    record_name = f"{dist_info}/RECORD"
    variant_name = f"{dist_info}/variant.json"
    date = source_date()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".varwheel-", dir=out_dir))
    try:
        staged = staging / filename.filename
        # wheelzip's bounds apply here too, not only in the validator before: the input may
        # have been replaced since, and memory stays bounded whatever a member unpacks to
        with open_zip(wheel) as archive, zipfile.ZipFile(staged, "w") as out:
            check_entries(archive.infolist(), wheel.stat().st_size)
            infos = {i.filename: i for i in archive.infolist() if not i.is_dir()}
            dropped = {record_name, *(f"{dist_info}/{s}" for s in _SIGNATURES)}
            if variant_json is not _KEEP:
                dropped.add(variant_name)
            names = [n for n in infos if n not in dropped]
            template = infos.get(f"{dist_info}/METADATA") or infos[record_name]
            if isinstance(variant_json, bytes):
                names.append(variant_name)
            names.sort(key=lambda n: _order(n, dist_info))
            rows: list[list[str]] = []
            for name in names:
                if name == variant_name and isinstance(variant_json, bytes):
                    info = _entry(name, template, date)
                    info.file_size = len(variant_json)
                    out.writestr(info, variant_json)
                    rows.append([name, _record_hash(variant_json), str(len(variant_json))])
                    continue
                digest, size = hashlib.sha256(), 0
                with out.open(_entry(name, infos[name], date), "w") as dst:
                    for chunk in stream_member(archive, infos[name]):
                        digest.update(chunk)
                        size += len(chunk)
                        dst.write(chunk)
                encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
                rows.append([name, f"sha256={encoded}", str(size)])
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerows(rows)
            writer.writerow([record_name, "", ""])
            record = buf.getvalue().encode("utf-8")
            info = _entry(record_name, infos.get(record_name, template), date)
            info.file_size = len(record)
            out.writestr(info, record)
        _verify(staged, label)
        target = out_dir / filename.filename
        os.replace(staged, target)
        return target
    except ArchiveError as exc:
        raise InvalidWheel(f"{wheel.name}: {exc}") from None
    except OSError as exc:
        if exc.filename is not None and Path(exc.filename) == wheel:
            raise  # the input: one line from the CLI's safety net, naming it
        raise OutputNotWritten.from_os_error(out_dir, filename.filename, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _verify(path: Path, label: str | None) -> None:
    """Re-read what we wrote with our own validator; refuse to keep a wrong wheel."""
    written = read_wheel_variant(path)
    if label is not None and written.metadata is None:
        raise InvalidWheel(f"{path.name}: labelled {label!r} but has no variant.json")


def make_variant(
    wheel: Path | str,
    properties: Iterable[VariantProperty],
    *,
    label: str | None = None,
    null: bool = False,
    out_dir: Path | str,
    metadata: VariantMetadata | None = None,
) -> Path:
    """Write ``wheel`` as the variant with ``properties`` into ``out_dir``; return its path.

    ``metadata`` is the project's variant metadata (``[variant]`` of its pyproject, or another
    wheel's ``variant.json``): providers and priorities are copied from it; build-time providers
    are inlined (``request.inline_static``). ``label`` defaults to the 8-hex-digit hash of the
    properties, ``null=True`` makes the null variant. The properties are not checked against the
    providers here: ``request.resolve_request`` does that (``varwheel make-variant`` calls it).
    """
    path = Path(wheel)
    props = canonical_properties(properties)
    if metadata is None:
        raise InvalidInput(
            f"{path.name}: make-variant needs the project's [variant] metadata "
            "(its pyproject.toml) to name the providers"
        )
    if null and props:
        raise InvalidInput("the null variant has no properties: drop the properties or null")
    chosen = NULL_LABEL if null and label is None else label
    chosen = chosen if chosen is not None else default_label(props)
    check_build_label(chosen, props)
    for prop in props:
        if prop.namespace not in metadata.providers and prop.namespace != ABI_DEPENDENCY:
            raise InvalidInput(
                f"{prop}: namespace '{prop.namespace}' has no provider in the variant metadata "
                f"of {metadata.source or 'the project'}"
            )
    filename = parse_wheel_filename(path.name)
    if filename.label is not None:
        raise InvalidWheel(
            f"{path.name}: already the variant {filename.label!r}; unmake-variant it first"
        )
    dist_info = _check_input(path)
    md = replace(inline_static(metadata), variants={chosen: props}, warnings=())
    document = dump_json(md)
    return _rewrite(path, Path(out_dir), label=chosen, variant_json=document, dist_info=dist_info)


def unmake_variant(wheel: Path | str, out_dir: Path | str) -> Path:
    """Write ``wheel`` without its label and ``variant.json`` into ``out_dir``."""
    path = Path(wheel)
    current = read_wheel_variant(path)
    if current.label is None and current.variant_json is None:
        raise InvalidWheel(f"{path.name}: not a variant wheel (no label, no variant.json)")
    return _rewrite(path, Path(out_dir), label=None, variant_json=None, dist_info=current.dist_info)


def relabel(wheel: Path | str, out_dir: Path | str, *, variant_json: bytes, label: str) -> Path:
    """Give an unlabelled ``wheel`` (a repaired one) back its ``label`` and ``variant_json``:
    a pure rename when the archive still holds that exact document, a rewrite otherwise."""
    path = Path(wheel)
    current = read_wheel_variant(path)
    if current.label is not None:
        raise InvalidWheel(f"{path.name}: already labelled {current.label!r}")
    out = Path(out_dir)
    if current.variant_json == variant_json:
        target = out / current.filename.with_label(label).filename
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".varwheel-", dir=out))
        try:
            staged = staging / target.name
            shutil.copyfile(path, staged)
            _verify(staged, label)
            os.replace(staged, target)
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)
        return target
    return _rewrite(path, out, label=label, variant_json=variant_json, dist_info=current.dist_info)
