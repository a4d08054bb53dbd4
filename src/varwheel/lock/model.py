"""Our model of a PEP 751 ``pylock.toml`` that lists variant wheels (PEP 825 §"Integration with
pylock.toml"): what ``lock`` writes and what ``install -r pylock.toml`` / ``sync`` read.

A lock is plain PEP 751 plus three things, all inside the format's extension points:

- ``packages.wheels`` may list variant wheels (labelled filenames, PEP 825);
- ``[packages.variants-json]`` inlines the package version's variant metadata (PEP 825), cut to
  the labels listed, every listed label in full;
- ``[packages.tool.varwheel]`` keeps the wheels' ``Requires-Dist`` (with their variant markers),
  so the dependency set is computed at install time from the variant chosen there, and
  ``[tool.varwheel]`` the lock's inputs (requirements, targets) for ``--check`` and the graph
  walk. docs/lock.md explains why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import Marker
from packaging.utils import NormalizedName
from packaging.version import Version

from varwheel.errors import DownloadMismatch, InvalidInput
from varwheel.spec.filenames import WheelFilename
from varwheel.spec.model import VariantMetadata

LOCK_VERSION = "1.0"
FORMAT = 1  # [tool.varwheel] format: bumped when our tool tables change incompatibly
# Plain PEP 751 consumers evaluate ``dependency_groups`` to the lock's ``default-groups`` (none):
# a package needed only by some variant is gated on this undeclared group, so they skip it.
VARIANT_GROUP = "varwheel-variant-deps"
VARIANT_ONLY_MARKER = f"'{VARIANT_GROUP}' in dependency_groups"


def is_file_url(url: str | None) -> bool:
    """A ``file:`` URL (RFC 3986: the scheme is case-insensitive, ``FILE:`` too)."""
    return url is not None and url.partition(":")[0].lower() == "file" and ":" in url


class InvalidLock(InvalidInput):
    """A lock file that is malformed or inconsistent (exit 2): nothing is installed."""


class LockMismatch(DownloadMismatch):
    """A locked file whose bytes do not match the lock (size, sha256, its own metadata):
    the lock or the file was tampered with (exit 1); nothing is installed."""


@dataclass(frozen=True)
class LockedWheel:
    """One ``packages.wheels`` entry. Exactly one of ``url``/``path``; ``path`` is relative to
    the lock file's directory (PEP 751) or absolute."""

    filename: WheelFilename
    sha256: str
    size: int | None = None
    url: str | None = None
    path: str | None = None
    # the wheel's own Requires-Dist when it differs from the package's (non-variant wheels
    # built with variant-specific dependencies stripped, PEP 817 §"Backwards compatibility")
    requires_dist: tuple[str, ...] | None = None

    @property
    def label(self) -> str | None:
        return self.filename.label

    @property
    def location(self) -> str:
        return self.url or self.path or ""


@dataclass(frozen=True)
class LockedPackage:
    name: NormalizedName
    version: Version
    wheels: tuple[LockedWheel, ...]
    requires_dist: tuple[str, ...] = ()
    variants: VariantMetadata | None = None  # [packages.variants-json], parsed
    # the index's ``*-variants.json`` document as published (``$schema`` and all), inlined
    # verbatim but for the labels not listed; None: written from ``variants`` (schema v0.2.0)
    variants_document: Mapping[str, Any] | None = None
    marker: Marker | None = None
    index: str | None = None
    targets: tuple[str, ...] = ()  # the lock targets that may install it
    # PEP 751 ``packages.requires-python`` (the wheels' Requires-Python): an installer MUST
    # refuse a target it excludes
    requires_python: str | None = None

    def requires_dist_of(self, wheel: LockedWheel) -> tuple[str, ...]:
        return wheel.requires_dist if wheel.requires_dist is not None else self.requires_dist


@dataclass(frozen=True)
class LockTargetInfo:
    """One machine the lock was made for, as recorded in ``[[tool.varwheel.targets]]``."""

    name: str
    marker_env: Mapping[str, str]
    profile: str | None = None  # path as given (relative to the lock's directory when inside)
    profile_sha256: str | None = None
    environment: str | None = None  # its PEP 508 marker (as in ``environments``)


@dataclass(frozen=True)
class LockFile:
    packages: tuple[LockedPackage, ...]
    requirements: tuple[str, ...]
    targets: tuple[LockTargetInfo, ...] = ()
    environments: tuple[str, ...] = ()
    requires_python: str | None = None
    created_by: str = "varwheel"
    inputs: Mapping[str, object] = field(default_factory=dict)  # index settings for --check
    source: str = "pylock.toml"
    warnings: tuple[str, ...] = ()  # one line each, for the CLI to show (not written back)
    # [tool.varwheel] present: install by walking ``requirements`` (even none: nothing);
    # False: another tool's lock, installed by its package markers (PEP 751)
    walk: bool = True

    def by_name(self) -> dict[NormalizedName, LockedPackage]:
        return {p.name: p for p in self.packages}
