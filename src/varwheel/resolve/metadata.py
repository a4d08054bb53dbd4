"""Core metadata of a candidate and its dependencies under the candidate's variant markers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement

from varwheel.errors import IndexFetchError, InvalidMarker, InvalidMetadata
from varwheel.resolve.candidates import Candidate
from varwheel.spec.core_metadata import parse_core_metadata_bytes
from varwheel.spec.markers import VariantEnvironment, requirement_applies

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

    from varwheel.resolve.source import DistributionSource


def fetch_core_metadata(source: DistributionSource, candidate: Candidate) -> bytes:
    """METADATA of a wheel candidate: PEP 658/714 file when the index offers it, else from the
    wheel itself (HTTP range requests when the server allows them)."""
    file = candidate.file
    if file is None or candidate.wheel is None:
        raise IndexFetchError(f"{candidate.filename}: no wheel to read metadata from")
    return source.core_metadata(file)


def parse_core_metadata(data: bytes, *, source: str) -> RawMetadata:
    """Parse METADATA leniently (stock packaging rejects the variant markers in Requires-Dist)."""
    raw, _unparsed = parse_core_metadata_bytes(data)
    if "name" not in raw or "version" not in raw:
        raise InvalidMetadata("core metadata lacks Name or Version", source=source)
    return raw


def read_wheel_metadata(path: Path) -> bytes:
    """METADATA member of a local wheel file, read through ``varwheel.wheelzip`` (bounded
    central directory, member size, CRC): a hostile or damaged wheel is one line naming it."""
    from varwheel.wheelzip import ArchiveError, open_zip, read_member

    try:
        with open_zip(path) as zf:
            names = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if len(names) != 1:
                raise InvalidMetadata("wheel has no single *.dist-info/METADATA", source=str(path))
            return read_member(zf, zf.getinfo(names[0]))
    except ArchiveError as exc:
        raise InvalidMetadata(
            f"cannot read the wheel's METADATA: {exc}", source=str(path)
        ) from None


def variant_environment(candidate: Candidate) -> VariantEnvironment:
    """PEP 825: the chosen wheel's label and its supported properties; a non-variant wheel (or
    one built from an sdist) has label "" and empty sets."""
    if candidate.label is None:
        return VariantEnvironment.non_variant()
    return VariantEnvironment(candidate.label, candidate.marker_properties)


def dependencies(
    raw: RawMetadata,
    *,
    marker_env: Mapping[str, str],
    variant: VariantEnvironment,
    extras: Iterable[str] = (),
    source: str,
) -> tuple[Requirement, ...]:
    """The Requires-Dist entries that apply to this target and this variant."""
    out: list[Requirement] = []
    extra_set = frozenset(extras)
    for line in raw.get("requires_dist", []):
        try:
            req = requirement_applies(line, marker_env, variant, extra_set)
        except InvalidMarker as err:
            raise InvalidMarker(f"{source}: {err}") from err
        if req is not None:
            out.append(req)
    return tuple(out)


# PEP 566 multiple-use fields, rendered as JSON lists.
_MULTI = {
    "classifiers": "classifier",
    "platforms": "platform",
    "supported_platforms": "supported_platform",
    "requires_dist": "requires_dist",
    "requires_external": "requires_external",
    "project_urls": "project_url",
    "provides_extra": "provides_extra",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "dynamic": "dynamic",
    "license_files": "license_file",
}


def metadata_json(raw: RawMetadata) -> dict[str, Any]:
    """Core metadata as JSON per PEP 566 (the form pip's installation report uses)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "project_urls" and isinstance(value, Mapping):
            out["project_url"] = [f"{k}, {v}" for k, v in value.items()]
        elif key in _MULTI:
            out[_MULTI[key]] = list(value)  # type: ignore[arg-type]
        elif key == "keywords":
            out["keywords"] = list(value)  # type: ignore[arg-type]
        else:
            out[key] = value
    json.dumps(out)  # everything above is str/list; fail here rather than in the writer
    return out
