"""Variant metadata of one package version, from the index or from the wheels themselves.

PEP 817 §"Installing from an index" step 5: read the index-level ``{name}-{version}-variants.json``
(found among the version's files by its normalised name, hash-checked when the page gives a
hash). PEP 825 permits the alternative used when an index cannot host that file (pypiserver,
devpi, find-links directories): read ``*.dist-info/variant.json`` from one wheel per label and
merge them (``varwheel.spec.merge``). Over HTTP that costs three small range requests per label;
a server without ``Range`` support means whole downloads (then hash-checked and cached).
Range-read members cannot be checked against the wheel's hash; the wheel that is finally
installed is downloaded whole and hash-checked, and its own ``variant.json`` is what the
installer records.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.utils import canonicalize_name
from packaging.version import Version

from varwheel.errors import (
    InvalidFilename,
    InvalidMetadata,
    UnsupportedSchema,
    WheelMemberNotFound,
)
from varwheel.index.client import MEMBER_LOCAL, MEMBER_RANGE, IndexClient
from varwheel.index.models import (
    ROUTE_INDEX,
    ROUTE_LOCAL,
    ROUTE_NONE,
    ROUTE_RANGE,
    ROUTE_WHOLE,
    IndexFile,
    VariantSource,
)
from varwheel.spec.filenames import (
    WheelFilename,
    is_variants_json_filename,
    parse_variants_json_filename,
    parse_wheel_filename,
)
from varwheel.spec.merge import merge_metadata
from varwheel.spec.metadata import load_variants_json, load_wheel_variant_json
from varwheel.spec.model import VariantMetadata
from varwheel.threads import DaemonExecutor

VARIANT_JSON_MEMBER = ".dist-info/variant.json"


def find_variants_json(
    files: Sequence[IndexFile], project: str, version: Version
) -> IndexFile | None:
    """The version's ``*-variants.json`` among a project's files (PEP 817 §3.7 naming)."""
    for file in files:
        if is_variants_json_filename(file.filename) and parse_variants_json_filename(
            file.filename
        ) == (project, version):
            return file
    return None


def wheels_by_label(
    files: Sequence[IndexFile], project: str, version: Version
) -> dict[str, IndexFile]:
    """One wheel per variant label of the version; local files first, then by filename."""
    chosen: dict[str, tuple[tuple[bool, str], IndexFile]] = {}
    for file in files:
        if not file.is_wheel:
            continue
        try:
            wf: WheelFilename = parse_wheel_filename(file.filename)
        except InvalidFilename:
            continue
        if wf.label is None or wf.project != project or wf.version != version:
            continue
        rank = (not file.url.startswith("file:"), file.filename)
        if wf.label not in chosen or rank < chosen[wf.label][0]:
            chosen[wf.label] = (rank, file)
    return {label: item[1] for label, item in sorted(chosen.items())}


def _read_one(client: IndexClient, label: str, file: IndexFile) -> tuple[VariantMetadata, str]:
    try:
        got = client.read_wheel_member_routed(file, VARIANT_JSON_MEMBER)
    except WheelMemberNotFound:
        raise InvalidMetadata(
            "variant wheel has no *.dist-info/variant.json", source=file.filename
        ) from None
    return load_wheel_variant_json(got.data, label, source=file.filename), got.route


def variant_metadata_for(
    client: IndexClient, name: str, version: str | Version, files: Sequence[IndexFile]
) -> VariantSource:
    """Variant metadata of ``name`` ``version`` given the project's (or the version's) files."""
    project = canonicalize_name(name)
    version = Version(str(version))
    index_file = find_variants_json(files, project, version)
    if index_file is not None:
        data = client.fetch(index_file.url, dict(index_file.hashes))
        try:
            md = load_variants_json(data, source=index_file.url)
        except UnsupportedSchema as err:
            return _degraded(client, project, version, index_file.filename, err)
        return VariantSource(md, ROUTE_INDEX, index_file.url)
    labelled = wheels_by_label(files, project, version)
    if not labelled:
        return VariantSource(None, ROUTE_NONE)
    workers = min(client.max_workers, len(labelled))
    try:
        with DaemonExecutor(workers, "varwheel-variant-json") as pool:
            results = list(pool.map(lambda item: _read_one(client, *item), labelled.items()))
    except UnsupportedSchema as err:
        return _degraded(client, project, version, err.source or "variant.json", err)
    merged = merge_metadata(md for md, _ in results)
    routes = {route for _, route in results}
    if routes == {MEMBER_LOCAL}:
        route = ROUTE_LOCAL
    elif routes <= {MEMBER_LOCAL, MEMBER_RANGE}:
        route = ROUTE_RANGE
    else:
        route = ROUTE_WHOLE  # a server ignored Range, or wheels came from the download cache
    return VariantSource(merged, route, ", ".join(f.filename for f in labelled.values()))


def _degraded(
    client: IndexClient, project: str, version: Version, what: str, err: UnsupportedSchema
) -> VariantSource:
    """PEP 825: metadata of an unsupported ``$schema`` MUST NOT be used, and the installer
    SHOULD degrade gracefully: the version is read as having no variant metadata (its variant
    wheels are unusable, a non-variant wheel may still be chosen), with a warning."""
    line = (
        f"{project} {version}: {what}: {err.reason}; ignoring its variant wheels (PEP 825): "
        "a non-variant wheel is used if there is one"
    )
    warn = getattr(client, "_warn", None)  # IndexClient; other sources keep no warnings
    if warn is not None:
        warn([line])
    return VariantSource(None, ROUTE_NONE, "")
