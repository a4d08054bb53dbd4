"""Read the variant metadata held by a file: a wheel, a ``variant.json``, a ``*-variants.json`` or a
``pyproject.toml``. The I/O side of ``varwheel inspect``; the parsing rules live in ``varwheel.spec``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from varwheel.codes import FileKind
from varwheel.errors import InvalidFilename, InvalidMetadata
from varwheel.safeparse import TomlError, path_problem, toml_loads
from varwheel.spec.filenames import (
    VARIANTS_JSON_SUFFIX,
    is_variant_json_member,
    parse_variants_json_filename,
    parse_wheel_filename,
)
from varwheel.spec.metadata import (
    load_pyproject,
    load_variant_json,
    load_variants_json,
    load_wheel_variant_json,
    to_v0_2_0,
)
from varwheel.spec.model import VariantMetadata
from varwheel.spec.validation import printable
from varwheel.wheelzip import ArchiveError, open_zip, read_member

_MAX_JSON_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Inspection:
    """What ``inspect_path`` found. ``metadata`` is None only for a non-variant wheel."""

    path: str
    kind: FileKind
    metadata: VariantMetadata | None
    wheel_label: str | None = None  # label component of a wheel's file name
    member: str | None = None  # archive path of the wheel's variant.json
    project: str | None = None  # from a *-variants.json file name
    version: str | None = None
    # what a conversion to schema v0.2.0 would not carry over (or why it is impossible)
    conversion_warnings: tuple[str, ...] = ()
    conversion_error: str | None = None


def detect_kind(path: Path, head: bytes, source: str | None = None) -> FileKind:
    """Tell the kind of file by its name, then by its first bytes."""
    name = path.name
    if name.endswith(".whl") or head.startswith(b"PK\x03\x04"):
        return FileKind.WHEEL
    if name.endswith(".toml"):
        return FileKind.PYPROJECT
    if name.endswith(VARIANTS_JSON_SUFFIX):
        return FileKind.VARIANTS_JSON
    if name.startswith("variant.json"):
        return FileKind.VARIANT_JSON
    if head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        # a JSON document under another name: read it as index-level metadata (any label count)
        return FileKind.VARIANTS_JSON
    raise InvalidMetadata(
        "cannot tell what this file is: expected a .whl, variant.json, *-variants.json or pyproject.toml",
        source=source or printable(str(path)),
    )


def _check_regular_file(path: Path, source: str) -> None:
    """Refuse what is not a readable regular file before opening it: a FIFO would block."""
    problem = path_problem(str(path))
    if problem is not None:
        raise InvalidMetadata(f"cannot read: {problem}", source=source)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise InvalidMetadata(f"cannot read: {err.strerror or err}", source=source) from None
    if stat.S_ISDIR(mode):
        raise InvalidMetadata("is a directory, not a file", source=source)
    if not stat.S_ISREG(mode):
        raise InvalidMetadata("not a regular file", source=source)


def _read(path: Path, source: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_JSON_BYTES + 1)
    except OSError as err:
        raise InvalidMetadata(f"cannot read: {err.strerror or err}", source=source) from None
    if len(data) > _MAX_JSON_BYTES:
        raise InvalidMetadata("file too large for variant metadata", source=source)
    return data


def _load_toml(data: bytes, source: str) -> Any:
    try:
        return toml_loads(data)
    except TomlError as err:  # also bad UTF-8, deep nesting, huge integers
        raise InvalidMetadata(f"not valid TOML: {printable(str(err))}", source=source) from None


def _conversion(md: VariantMetadata) -> tuple[tuple[str, ...], str | None]:
    try:
        conv = to_v0_2_0(md)
    except InvalidMetadata as err:
        return (), err.reason
    return conv.warnings, None


def _inspection(path: Path, kind: FileKind, md: VariantMetadata | None, **extra: Any) -> Inspection:
    warnings, error = _conversion(md) if md is not None else ((), None)
    return Inspection(
        str(path), kind, md, conversion_warnings=warnings, conversion_error=error, **extra
    )


def inspect_wheel(path: Path, source: str | None = None) -> Inspection:
    """Read ``*.dist-info/variant.json`` from a wheel and check it against the filename label."""
    source = source or printable(str(path))
    try:
        label = parse_wheel_filename(path.name).label
    except InvalidFilename as err:
        raise InvalidFilename(f"{source}: {printable(str(err))}") from None
    _check_regular_file(path, source)
    try:  # bounded reads (varwheel.wheelzip): no member is unpacked beyond its cap
        with open_zip(path) as zf:
            members = [n for n in zf.namelist() if is_variant_json_member(n)]
            if len(members) > 1:
                shown = ", ".join(printable(m) for m in sorted(members))
                raise InvalidMetadata(
                    f"several variant.json files ({shown}); a wheel has one .dist-info",
                    source=source,
                )
            info = zf.getinfo(members[0]) if members else None
            if info is not None and info.file_size > _MAX_JSON_BYTES:
                raise InvalidMetadata(f"{printable(info.filename)} is too large", source=source)
            data = read_member(zf, info, _MAX_JSON_BYTES) if info is not None else None
    except ArchiveError as err:
        prefix = "not a readable zip archive "
        if err.reason.startswith(prefix):
            detail = err.reason.removeprefix(prefix)
            raise InvalidMetadata(
                f"not a valid wheel (zip) archive {detail}", source=source
            ) from None
        raise InvalidMetadata(f"cannot read the wheel archive: {err}", source=source) from None
    if data is None or info is None:
        if label is not None:
            raise InvalidMetadata(
                f"variant wheel (label {label!r}) has no *.dist-info/variant.json", source=source
            )
        return _inspection(path, FileKind.WHEEL, None)
    member = info.filename
    member_source = f"{source}!{printable(member)}"
    md = load_wheel_variant_json(data, label, source=member_source)
    return _inspection(path, FileKind.WHEEL, md, wheel_label=label, member=member)


def inspect_path(path: Path | str) -> Inspection:
    """Load and validate the variant metadata in ``path`` (kind detected from name and content)."""
    path = Path(path)
    # the path is shown in one-line messages: a newline in a file name must not break them
    source = printable(str(path))
    if path.name.endswith(".whl"):
        return inspect_wheel(path, source)
    _check_regular_file(path, source)
    data = _read(path, source)
    kind = detect_kind(path, data[:16], source)
    if kind is FileKind.WHEEL:
        return inspect_wheel(path, source)
    if kind is FileKind.PYPROJECT:
        return _inspection(path, kind, load_pyproject(_load_toml(data, source), source=source))
    if kind is FileKind.VARIANT_JSON:
        return _inspection(path, kind, load_variant_json(data, source=source))
    extra: dict[str, Any] = {}
    if path.name.endswith(VARIANTS_JSON_SUFFIX):
        try:
            project, version = parse_variants_json_filename(path.name)
        except InvalidFilename as err:
            raise InvalidFilename(f"{source}: {printable(str(err))}") from None
        extra = {"project": str(project), "version": str(version)}
    return _inspection(path, kind, load_variants_json(data, source=source), **extra)


def inspection_to_json(ins: Inspection) -> dict[str, Any]:
    """A stable, machine-readable view of an inspection (``varwheel inspect --json``)."""
    out: dict[str, Any] = {"path": ins.path, "kind": ins.kind, "variant": ins.metadata is not None}
    if ins.kind is FileKind.WHEEL:
        out["wheel"] = {"label": ins.wheel_label, "member": ins.member}
    if ins.project is not None:
        out["project"] = {"name": ins.project, "version": ins.version}
    md = ins.metadata
    if md is None:
        return out
    out.update(
        {
            "schema": md.schema,
            "generation": md.generation.value,
            "namespace_priorities": list(md.namespace_priorities),
            "providers": {ns: _provider_json(md, ns) for ns in sorted(md.providers)},
            "feature_priorities": {ns: list(v) for ns, v in sorted(md.feature_priorities.items())},
            "property_priorities": {
                ns: {f: list(v) for f, v in sorted(by_f.items())}
                for ns, by_f in sorted(md.property_priorities.items())
            },
            "variants": {
                label: [str(p) for p in props] for label, props in sorted(md.variants.items())
            },
            "warnings": list(md.warnings),
            "v0_2_0": {
                "convertible": ins.conversion_error is None,
                "error": ins.conversion_error,
                "warnings": list(ins.conversion_warnings),
            },
        }
    )
    return out


def _provider_json(md: VariantMetadata, ns: str) -> dict[str, Any]:
    info = md.providers[ns]
    static = info.static_properties
    return {
        "kind": info.kind.value,
        "requires": list(info.requires),
        "build_requires": list(info.build_requires),
        "plugin_api": info.plugin_api,
        "builtin": info.builtin,
        "optional": info.optional,
        "enable_if": info.enable_if,
        "install_time": info.install_time,
        "static_properties": {f: list(v) for f, v in static.items()}
        if static is not None
        else None,
        "feature_order": list(info.feature_order),
    }
