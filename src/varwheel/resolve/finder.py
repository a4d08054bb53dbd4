"""Finder: index pages -> releases -> one chosen candidate per version, cached per resolution.

Fetches lazily: a project's page when the resolver first asks for it, a version's variant
metadata only when that version is considered and a tag-compatible wheel has a label (PEP 817
step 4), so ``--no-deps --dry-run`` reads nothing but index pages and ``*-variants.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from varwheel.index.models import IndexFile
from varwheel.resolve.candidates import (
    Release,
    VersionChoice,
    choose,
    group_releases,
    has_tag_compatible_variant,
)
from varwheel.resolve.options import ResolveOptions
from varwheel.resolve.prefetch import Prefetcher
from varwheel.resolve.source import DistributionSource, as_source
from varwheel.spec.model import VariantMetadata
from varwheel.spec.selection import SupportedProperties

if TYPE_CHECKING:
    from varwheel.index.client import IndexClient

# Given a version's variant metadata, return what the target supports (providers, profile).
SupportFunction = Callable[[VariantMetadata], SupportedProperties]


@dataclass(frozen=True)
class SkippedVersion:
    version: Version
    reason: str


def python_ok(file: IndexFile, python_version: Version) -> bool:
    """The file's ``data-requires-python`` admits the target's Python (malformed: ignored, as pip)."""
    if not file.requires_python:
        return True
    try:
        return SpecifierSet(file.requires_python).contains(python_version, prereleases=True)
    except InvalidSpecifier:
        return True


def select_versions(
    releases: Mapping[Version, Release],
    specifier: SpecifierSet,
    *,
    pinned: bool,
    allow_prereleases: bool,
    python_version: Version,
) -> list[Version]:
    """Versions matching ``specifier``, newest first, as pip would consider them.

    Pre-releases only when asked, when the specifier names one, or when nothing else matches
    (packaging's rule); yanked releases only when pinned with ``==``/``===`` (PEP 592); releases
    with no file for the target's Python are left out (``data-requires-python``).
    """
    usable = [
        v
        for v, rel in releases.items()
        if (pinned or not rel.yanked)
        and any(python_ok(f, python_version) for f in (*(w for w, _ in rel.wheels), *rel.sdists))
    ]
    prereleases = True if allow_prereleases else None
    return sorted(specifier.filter(usable, prereleases=prereleases), reverse=True)


def usable_files(release: Release, python_version: Version) -> Release:
    """The release without files for another Python, and without yanked files when it has
    others (PEP 592: a fully yanked release is only considered because it was pinned)."""
    keep_yanked = release.yanked

    def ok(file: IndexFile) -> bool:
        return python_ok(file, python_version) and (keep_yanked or not file.yanked)

    wheels = tuple(p for p in release.wheels if ok(p[0]))
    sdists = tuple(f for f in release.sdists if ok(f))
    return Release(release.name, release.version, wheels, sdists, release.variants_json)


class Finder:
    """Per-resolution cache of index pages and per-version choices."""

    def __init__(
        self,
        source: DistributionSource | IndexClient,
        *,
        tags: Sequence[Tag],
        python_version: Version,
        support_for: SupportFunction,
        options: ResolveOptions,
        direct: Mapping[NormalizedName, IndexFile] | None = None,
    ) -> None:
        self.source = as_source(source)
        self.tags = tuple(tags)
        self.python_version = python_version
        self.support_for = support_for
        self.options = options
        self._releases: dict[NormalizedName, dict[Version, Release]] = {}
        self._choices: dict[tuple[NormalizedName, Version], VersionChoice] = {}
        self.skipped: dict[NormalizedName, list[SkippedVersion]] = {}
        # PEP 817 §"Installing a local wheel": a wheel named by path is the project's only file
        self.direct = dict(direct or {})
        self.prefetcher: Prefetcher | None = None

    def releases(self, name: str) -> dict[Version, Release]:
        key = canonicalize_name(name)
        if key not in self._releases:
            if key in self.direct:
                files: tuple[IndexFile, ...] | None = (self.direct[key],)
            else:
                files = self.prefetcher.page(key) if self.prefetcher else None
                if files is None:
                    files = self.source.project_files(key)
            self._releases[key] = group_releases(key, files)
        return self._releases[key]

    def versions(self, name: str, specifier: SpecifierSet, *, pinned: bool) -> list[Version]:
        return select_versions(
            self.releases(name),
            specifier,
            pinned=pinned,
            allow_prereleases=self.options.allow_prereleases,
            python_version=self.python_version,
        )

    def searched(self) -> str:
        """Where projects were looked for, for "not found" messages."""
        indexes, links = self.source.locations()
        places = [*indexes, *links]
        if not places:
            return "anywhere (--no-index and no --find-links)"
        if len(places) == 1:
            return f"in {places[0]}"
        return f"in {len(indexes)} index(es) and {len(links)} find-links location(s)"

    def excluded(self, name: str, specifier: SpecifierSet) -> list[str]:
        """Why versions matching ``specifier`` were left out before any wheel was looked at:
        ``Requires-Python`` of every file, or a yanked release (for error messages, as pip's
        "Ignored the following versions that require a different python version")."""
        notes: list[str] = []
        python: list[str] = []
        yanked: list[str] = []
        releases = self.releases(name)
        for version in sorted(specifier.filter(releases, prereleases=True)):
            rel = releases[version]
            files = (*(w for w, _ in rel.wheels), *rel.sdists)
            if files and not any(python_ok(f, self.python_version) for f in files):
                needs = sorted({f.requires_python or "" for f in files} - {""})
                python.append(f"{version} (Requires-Python {' or '.join(needs)})")
            elif rel.yanked:
                yanked.append(str(version))
        if python:
            notes.append(
                f"versions that require a different Python than {self.python_version}: "
                + ", ".join(python)
            )
        if yanked:
            notes.append("yanked versions (PEP 592; pin with == to use one): " + ", ".join(yanked))
        return notes

    def choice(self, name: str, version: Version) -> VersionChoice:
        key = (canonicalize_name(name), version)
        if key not in self._choices:
            self._choices[key] = self._choose(self.releases(name)[version])
        return self._choices[key]

    def _choose(self, release: Release) -> VersionChoice:
        release = usable_files(release, self.python_version)
        if not self.options.wheels_allowed(release.name):  # --no-binary: built from the sdist
            release = replace(release, wheels=())
        prefs = self.options.prefs_for(release.name)
        metadata = support = route = None
        notes: tuple[str, ...] = ()
        if (
            prefs.variants_enabled
            and any(wf.label is not None for _, wf in release.wheels)  # cheap test first
            and has_tag_compatible_variant(release.wheels, self.tags)
        ):
            source = (
                self.prefetcher.variant_source(release.name, release.version)
                if self.prefetcher
                else None
            )
            if source is None:
                source = self.source.variant_metadata(
                    release.name, release.version, list(release.files)
                )
            metadata, route = source.metadata, source.route
            notes = (f"variant metadata read from {source.detail}",) if source.detail else ()
            if metadata is not None:
                support = self.support_for(metadata)
        return choose(
            release,
            metadata=metadata,
            support=support,
            tags=self.tags,
            prefs=prefs,
            route=route,
            allow_sdists=self.options.sdists_allowed(release.name),
            notes=notes,
        )

    def choices(self) -> tuple[VersionChoice, ...]:
        """Every per-version choice made so far."""
        return tuple(self._choices.values())

    def iter_choices(
        self, name: str, specifier: SpecifierSet, *, pinned: bool
    ) -> Iterator[VersionChoice]:
        """Choices for matching versions newest first; unusable ones are recorded in ``skipped``."""
        key = canonicalize_name(name)
        for version in self.versions(name, specifier, pinned=pinned):
            ch = self.choice(name, version)
            if ch.candidate is None:
                seen = self.skipped.setdefault(key, [])
                if all(s.version != version for s in seen):
                    seen.append(SkippedVersion(version, ch.skip_reason))
            yield ch
