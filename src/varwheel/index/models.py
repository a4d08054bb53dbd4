"""Data returned by the index layer: one file of a project, and where variant metadata came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from varwheel.codes import MetadataRoute
from varwheel.spec.model import VariantMetadata

# PEP 691 / PEP 503 hash names in the order we prefer to verify them.
PREFERRED_HASHES = ("sha256", "sha384", "sha512", "sha3_256", "blake2b")


@dataclass(frozen=True)
class IndexFile:
    """One distribution file (wheel, sdist or ``*-variants.json``) listed for a project.

    ``url`` is absolute, without fragment. ``hashes`` maps a hashlib name to a lowercase hex digest.
    ``metadata_url`` is the PEP 658 ``<url>.metadata`` when the index advertises it
    (``data-dist-info-metadata`` / ``data-core-metadata`` / JSON ``core-metadata``).
    ``index`` is the index URL or find-links location the file was listed by.
    """

    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict, hash=False)
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    metadata_url: str | None = None
    metadata_hashes: Mapping[str, str] = field(default_factory=dict, hash=False)
    size: int | None = None
    index: str = ""

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class ProgressEvent:
    """A download's progress, passed to the optional callback of ``download_many``.

    ``total`` is None when the server did not say; ``done`` is True exactly once per file.
    """

    file: IndexFile
    downloaded: int
    total: int | None
    done: bool = False


@dataclass(frozen=True)
class VariantSource:
    """Variant metadata of one package version and the route it was read by.

    ``route`` is one of ``ROUTE_*`` below; ``detail`` names the URL(s) read, for ``explain``.
    ``metadata`` is None when the version has no variant wheels.
    """

    metadata: VariantMetadata | None
    route: MetadataRoute
    detail: str = ""


# the routes by their old names (``codes.MetadataRoute``; JSON values unchanged)
ROUTE_INDEX = MetadataRoute.INDEX
ROUTE_RANGE = MetadataRoute.RANGE
ROUTE_WHOLE = MetadataRoute.WHOLE
ROUTE_LOCAL = MetadataRoute.LOCAL
ROUTE_NONE = MetadataRoute.NONE
