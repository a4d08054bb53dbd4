"""Check each downloaded wheel against what chose it, before anything is installed.

PEP 825 §"Index-level metadata": the ``*-variants.json`` file is a cache of the wheels'
``variant.json``; the wheels are the source of truth. So the label and properties selection
used (from the index file or per-wheel reads) must be what the downloaded wheel itself declares.
Likewise PEP 658: a served ``.metadata`` file MUST be identical to the wheel's ``METADATA``, and
the dependencies were resolved from it.

A wheel whose filename has no label is a non-variant wheel (PEP 817 §"Installing a local
wheel", step 1), and selection treated it as compatible everywhere. If it still carries a
``variant.json`` declaring properties, it is a variant build under a non-variant name (e.g. a
renamed GPU build): installing it would bypass the compatibility check, so it is refused. One
declaring only the null variant is compatible everywhere: installed with a warning.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from packaging.utils import canonicalize_name

from varwheel.errors import DownloadMismatch, InvalidMetadata
from varwheel.spec.core_metadata import parse_core_metadata_bytes
from varwheel.spec.metadata import load_variant_json
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.wheelzip import ArchiveError, open_zip, read_member

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

    from varwheel.install.unpacked import PreparedWheel

__all__ = ["ChosenWheel", "check_metadata", "check_variant", "verify_download", "verify_prepared"]


class ChosenWheel(Protocol):
    """What chose the wheel (``resolve.candidates.Candidate``, a lock's planned item)."""

    @property
    def label(self) -> str | None: ...

    @property
    def properties(self) -> Collection[VariantProperty]: ...


def _parse_core_metadata(data: bytes, *, source: str) -> RawMetadata:
    raw, _unparsed = parse_core_metadata_bytes(data)
    if "name" not in raw or "version" not in raw:
        raise InvalidMetadata("core metadata lacks Name or Version", source=source)
    return raw


def _dist_info_member(names: list[str], suffix: str) -> str | None:
    found = [n for n in names if n.count("/") == 1 and n.endswith(f".dist-info/{suffix}")]
    return found[0] if len(found) == 1 else None


def _read(path: Path) -> tuple[bytes | None, bytes | None]:
    """``(variant.json, METADATA)`` of a wheel; None for a missing member."""
    try:  # bounded reads (varwheel.wheelzip): a hostile wheel is refused, never unpacked whole
        with open_zip(path) as zf:
            names = zf.namelist()
            vj = _dist_info_member(names, "variant.json")
            meta = _dist_info_member(names, "METADATA")
            return (
                read_member(zf, zf.getinfo(vj)) if vj else None,
                read_member(zf, zf.getinfo(meta)) if meta else None,
            )
    except ArchiveError as exc:
        raise DownloadMismatch(f"{path.name}: cannot read the downloaded wheel: {exc}") from None


def _props(md: VariantMetadata, label: str) -> list[str]:
    return sorted(str(p) for p in md.variants.get(label, ()))


def check_variant(
    path: Path, candidate: ChosenWheel, selection_md: VariantMetadata | None, data: bytes | None
) -> str | None:
    """Raise :class:`DownloadMismatch` when the wheel's own ``variant.json`` does not describe the
    candidate's label and properties; return a warning line for a tolerated oddity."""
    name = path.name
    if candidate.label is None:
        if data is None:
            return None
        md = load_variant_json(data, source=name)
        declared = {label: _props(md, label) for label in md.variants}
        if any(declared.values()):
            label, props = next((k, v) for k, v in declared.items() if v)
            raise DownloadMismatch(
                f"{name}: the filename has no variant label, but its variant.json declares "
                f"variant {label!r} ({', '.join(props)}), whose compatibility was never checked; "
                "not installing a variant build under a non-variant name"
            )
        return (
            f"{name}: non-variant wheel contains a variant.json (null variant); installed as "
            "a non-variant wheel (PEP 817: the filename label identifies a variant wheel)"
        )
    if data is None:
        raise DownloadMismatch(
            f"{name}: variant label {candidate.label!r} but the wheel has no *.dist-info/variant.json"
        )
    md = load_variant_json(data, source=name)
    if candidate.label not in md.variants:
        found = ", ".join(repr(label) for label in md.variants) or "no variant"
        raise DownloadMismatch(
            f"{name}: its variant.json declares {found}, the filename says {candidate.label!r}"
        )
    if selection_md is None:  # forced without metadata: there were no properties to compare
        return None
    own = _props(md, candidate.label)
    used = sorted(str(p) for p in candidate.properties)
    if own != used:
        raise DownloadMismatch(
            f"{name}: its variant.json gives variant {candidate.label!r} the properties "
            f"[{', '.join(own)}], but the index metadata used to choose it said "
            f"[{', '.join(used)}] (PEP 825: the wheel is the source of truth; the index "
            "*-variants.json is stale or wrong)"
        )
    return None


def check_metadata(path: Path, used: RawMetadata | None, data: bytes | None) -> None:
    """The wheel's METADATA has the name, version and Requires-Dist the resolution read."""
    if used is None:
        return
    if data is None:
        raise DownloadMismatch(f"{path.name}: the wheel has no *.dist-info/METADATA")
    own = _parse_core_metadata(data, source=path.name)
    same_name = canonicalize_name(str(own.get("name"))) == canonicalize_name(str(used.get("name")))
    if not same_name or str(own.get("version")) != str(used.get("version")):
        raise DownloadMismatch(
            f"{path.name}: METADATA says {own.get('name')} {own.get('version')}, the index "
            f"metadata said {used.get('name')} {used.get('version')}"
        )
    if sorted(own.get("requires_dist", [])) != sorted(used.get("requires_dist", [])):
        raise DownloadMismatch(
            f"{path.name}: its METADATA Requires-Dist differs from the metadata the dependencies "
            "were resolved from (PEP 658: the .metadata file must equal the wheel's METADATA)"
        )


def _verify(
    path: Path,
    candidate: ChosenWheel,
    selection_md: VariantMetadata | None,
    used_metadata: RawMetadata | None,
    variant_json: bytes | None,
    metadata: bytes | None,
) -> tuple[str, ...]:
    warning = check_variant(path, candidate, selection_md, variant_json)
    check_metadata(path, used_metadata, metadata)
    return (warning,) if warning else ()


def verify_download(
    path: Path,
    candidate: ChosenWheel,
    selection_md: VariantMetadata | None,
    used_metadata: RawMetadata | None,
) -> tuple[str, ...]:
    """All checks for one downloaded wheel, reading its two members from the archive (bounded);
    returns warning lines. ``verify_prepared`` does the same without opening it again."""
    variant_json, metadata = _read(path)
    return _verify(path, candidate, selection_md, used_metadata, variant_json, metadata)


def verify_prepared(
    wheel: PreparedWheel,
    candidate: ChosenWheel,
    selection_md: VariantMetadata | None,
    used_metadata: RawMetadata | None,
) -> tuple[str, ...]:
    """``verify_download`` for a wheel already validated for this install
    (``install.unpacked.prepare_wheels``): its ``variant.json`` and METADATA as that one
    validation read them (or from its unpacked-cache entry); the archive is not reopened."""
    return _verify(
        wheel.path,
        candidate,
        selection_md,
        used_metadata,
        wheel.dist_info_file("variant.json"),
        wheel.dist_info_file("METADATA"),
    )
