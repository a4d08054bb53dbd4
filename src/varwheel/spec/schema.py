"""``$schema`` URLs of variant metadata: which generation a document uses, and version negotiation.

PEP 825 §"Variant metadata": versions follow semver; tools MUST reject a major version they do
not support and SHOULD accept a newer minor version of a supported major. Producers MUST NOT
write a version they do not support, so the writer only ever emits :data:`SCHEMA_V0_2_0`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from varwheel.errors import InvalidMetadata, UnsupportedSchema
from varwheel.spec.model import SCHEMA_V0_2_0, SchemaGeneration

HOST = "https://variants-schema.wheelnext.dev/"
# variantlib 0.2.x writes this non-canonical URL for the v0.2.0 shape (peers.md §2).
VARIANTLIB_V0_2_0 = HOST + "v0.2.0.json"
PEP825_V0_1_0 = HOST + "peps/825/v0.1.0.json"
PEP825_V0_1_1 = HOST + "peps/825/v0.1.1.json"
PEP817_V0_0_2 = HOST + "v0.0.2.json"
PEP817_V0_0_3 = HOST + "v0.0.3.json"
PEP817_UNVERSIONED = HOST

Version = tuple[int, int, int]

# family (URL prefix) -> known versions -> generation
_KNOWN: dict[str, dict[Version, SchemaGeneration]] = {
    HOST + "peps/850/": {(0, 2, 0): SchemaGeneration.PROVIDERS},
    HOST + "peps/825/": {
        (0, 1, 0): SchemaGeneration.PEP825,
        (0, 1, 1): SchemaGeneration.PEP825,
    },
    HOST: {
        (0, 0, 2): SchemaGeneration.PEP817,
        (0, 0, 3): SchemaGeneration.PEP817,
        (0, 2, 0): SchemaGeneration.PROVIDERS,
    },
}
_URL_RE = re.compile(
    r"^(?P<family>.*/)v(?P<major>\d{1,9})\.(?P<minor>\d{1,9})\.(?P<patch>\d{1,9})\.json$"
)


@dataclass(frozen=True)
class SchemaInfo:
    """What a ``$schema`` URL tells a reader."""

    url: str
    generation: SchemaGeneration
    version: Version | None  # None for the unversioned PEP 817 URL
    warnings: tuple[str, ...] = ()

    @property
    def is_canonical(self) -> bool:
        return self.url == SCHEMA_V0_2_0


def _show(url: str) -> str:
    return repr(url if len(url) <= 200 else url[:200] + "...")


def _fmt(version: Version) -> str:
    return ".".join(map(str, version))


def identify_schema(url: object, *, source: str | None = None) -> SchemaInfo:
    """Map a ``$schema`` value to its generation, or raise ``UnsupportedSchema``/``InvalidMetadata``."""
    if url is None:
        raise InvalidMetadata(
            "missing; a schema URL with a version is required", path="$schema", source=source
        )
    if not isinstance(url, str):
        raise InvalidMetadata(
            f"expected a URL string, got {json_type_name(url)}", path="$schema", source=source
        )
    if url == PEP817_UNVERSIONED:
        return SchemaInfo(url, SchemaGeneration.PEP817, None)
    match = _URL_RE.match(url)
    family = _KNOWN.get(match["family"]) if match else None
    if match is None or family is None:
        raise UnsupportedSchema(f"unknown schema URL {_show(url)}", path="$schema", source=source)
    version: Version = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    if version in family:
        warnings = ()
        if url == VARIANTLIB_V0_2_0:
            warnings = (
                f"$schema {url!r} is variantlib's non-canonical URL for v0.2.0; "
                f"the canonical one is {SCHEMA_V0_2_0!r}",
            )
        return SchemaInfo(url, family[version], version, warnings)
    latest = max(family)
    same_minor = [known for known in family if known[:2] == version[:2]]
    if same_minor and version > max(same_minor):
        base = max(same_minor)  # newer patch of a known minor
    elif version[0] == latest[0] and version > latest:
        base = latest  # newer minor of the supported major
    elif version[0] != latest[0]:
        raise UnsupportedSchema(
            f"schema major version {version[0]} is not supported "
            f"(this varwheel reads up to v{_fmt(latest)}): {_show(url)}",
            path="$schema",
            source=source,
        )
    else:
        raise UnsupportedSchema(
            f"unknown schema version v{_fmt(version)}: {_show(url)}", path="$schema", source=source
        )
    # PEP 825: consumers SHOULD accept a newer minor of a supported major.
    warning = (
        f"$schema v{_fmt(version)} is newer than the supported v{_fmt(base)}; "
        f"reading it as v{_fmt(base)} (keys added later are ignored)"
    )
    return SchemaInfo(url, family[base], version, (warning,))


def json_type_name(value: object) -> str:
    """How a JSON/TOML value is named in error messages."""
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
