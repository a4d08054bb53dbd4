"""Candidates: the files of one release, and the one wheel (or sdist) chosen for it.

Versions are chosen as usual; inside a version the wheels are ranked by the spec core
(``select_wheels``, PEP 817 §"Suggested implementation logic" steps 3-9) and only the best one
becomes the resolver's candidate for that version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
)
from packaging.version import Version

from varwheel.codes import ReasonCode
from varwheel.errors import InvalidFilename, ResolutionError
from varwheel.index.models import IndexFile
from varwheel.spec.filenames import (
    WheelFilename,
    is_variants_json_filename,
    parse_variants_json_filename,
    parse_wheel_filename,
)
from varwheel.spec.markers import filter_supported
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.spec.request import VariantRequest
from varwheel.spec.selection import (
    Preferences,
    RankedWheel,
    SupportedProperties,
    WheelSelection,
    request_of,
    select_wheels,
)


@dataclass(frozen=True)
class Release:
    """All files one index offers for one version of a project."""

    name: NormalizedName
    version: Version
    wheels: tuple[tuple[IndexFile, WheelFilename], ...] = ()
    sdists: tuple[IndexFile, ...] = ()
    variants_json: IndexFile | None = None

    @property
    def files(self) -> tuple[IndexFile, ...]:
        extra = (self.variants_json,) if self.variants_json is not None else ()
        return tuple(f for f, _ in self.wheels) + self.sdists + extra

    @property
    def yanked(self) -> bool:
        """PEP 592: a release counts as yanked when every file of it is."""
        dists = [f for f, _ in self.wheels] + list(self.sdists)
        return bool(dists) and all(_is_yanked(f) for f in dists)


@dataclass(frozen=True)
class Candidate:
    """One installable distribution the resolver may pin.

    ``wheel`` is None for an sdist (built into a non-variant wheel, PEP 817 §"Source
    distributions"). ``marker_properties`` are the wheel's properties the target supports:
    variant markers see only those (PEP 825 §"Environment markers").
    """

    name: NormalizedName
    version: Version
    file: IndexFile | None
    wheel: WheelFilename | None
    label: str | None = None
    properties: tuple[VariantProperty, ...] = ()
    marker_properties: frozenset[VariantProperty] = frozenset()
    decided_by: str = ""
    extras: frozenset[str] = frozenset()
    installed: bool = False  # an installed distribution kept as it is
    # chosen by --force-variant although the target does not support it (and why not)
    forced: bool = False
    forced_reason: str = ""

    @property
    def is_sdist(self) -> bool:
        return self.file is not None and self.wheel is None

    @property
    def filename(self) -> str:
        return self.file.filename if self.file is not None else f"{self.name}=={self.version}"

    def with_extras(self, extras: frozenset[str]) -> Candidate:
        return replace(self, extras=extras)


@dataclass(frozen=True)
class VersionChoice:
    """What happened to one release: the chosen candidate, or why none was."""

    release: Release
    candidate: Candidate | None
    selection: WheelSelection | None = None
    metadata: VariantMetadata | None = None
    route: str | None = None
    support: SupportedProperties | None = None
    skip_reason: str = ""
    variant_wheels_seen: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def _is_yanked(file: IndexFile) -> bool:
    return bool(file.yanked)


def group_releases(name: str, files: Iterable[IndexFile]) -> dict[Version, Release]:
    """Group an index page's files by version; files of other projects or odd names are skipped."""
    project = canonicalize_name(name)
    wheels: dict[Version, list[tuple[IndexFile, WheelFilename]]] = {}
    sdists: dict[Version, list[IndexFile]] = {}
    vjson: dict[Version, IndexFile] = {}
    for file in files:
        fname = file.filename
        try:
            if fname.endswith(".whl"):
                wf = parse_wheel_filename(fname)
                if wf.project == project:
                    wheels.setdefault(wf.version, []).append((file, wf))
            elif is_variants_json_filename(fname):
                vname, vversion = parse_variants_json_filename(fname)
                if vname == project:
                    vjson[vversion] = file
            elif fname.endswith((".tar.gz", ".zip")):
                sname, sversion = parse_sdist_filename(fname)
                if sname == project:
                    sdists.setdefault(sversion, []).append(file)
        except (InvalidFilename, InvalidSdistFilename, ValueError):
            continue  # pip ignores links it cannot parse; so do we
    versions = set(wheels) | set(sdists)
    return {
        v: Release(
            project,
            v,
            tuple(sorted(wheels.get(v, ()), key=lambda p: p[0].filename)),
            tuple(sorted(sdists.get(v, ()), key=lambda f: f.filename)),
            vjson.get(v),
        )
        for v in versions
    }


def has_tag_compatible_variant(
    wheels: Sequence[tuple[IndexFile, WheelFilename]], tags: Sequence[Tag]
) -> bool:
    """PEP 817 step 4: variant metadata is needed only when a tag-compatible wheel has a label."""
    supported = set(tags)
    return any(wf.label is not None and wf.tags & supported for _, wf in wheels)


def candidate_from_ranked(
    release: Release, ranked: RankedWheel, support: SupportedProperties | None
) -> Candidate:
    file = next(f for f, wf in release.wheels if wf == ranked.wheel)
    props = tuple(ranked.properties)
    marker_props = _supported_subset(props, support)
    return Candidate(
        release.name,
        release.version,
        file,
        ranked.wheel,
        ranked.label,
        props,
        marker_props,
        ranked.decided_by,
        forced=ranked.forced,
        forced_reason=ranked.forced_reason,
    )


def _supported_subset(
    props: Sequence[VariantProperty], support: SupportedProperties | None
) -> frozenset[VariantProperty]:
    if not props or support is None:
        return frozenset()
    return frozenset(filter_supported(frozenset(props), support))


def choose(
    release: Release,
    *,
    metadata: VariantMetadata | None,
    support: SupportedProperties | None,
    tags: Sequence[Tag],
    prefs: Preferences,
    route: str | None = None,
    allow_sdists: bool = True,
    notes: tuple[str, ...] = (),
) -> VersionChoice:
    """Rank the release's wheels and pick the best; fall back to an sdist (non-variant).

    A forced variant (``--force-variant``) this release does not have is an error: moving on to
    an older version that has the label would be a downgrade the user never asked for.
    """
    wheel_names = [wf for _, wf in release.wheels]
    selection = None
    if wheel_names:
        selection = select_wheels(
            wheel_names, metadata, support or SupportedProperties({}), tags, prefs
        )
    if prefs.force_variant and selection is not None and selection.missing:
        raise ResolutionError(
            f"{selection.missing}; --force-variant does not move to another version: "
            f"pin the one that has it ({release.name}==VERSION)"
        )
    variant_seen = any(wf.label is not None for wf in wheel_names)
    if selection is not None and selection.ranked:
        cand = candidate_from_ranked(release, selection.ranked[0], support)
        return VersionChoice(
            release, cand, selection, metadata, route, support, "", variant_seen, notes
        )
    # an sdist builds a non-variant wheel: never a substitute for a variant the user named
    if allow_sdists and release.sdists and request_of(prefs) is None:
        sdist = release.sdists[0]
        cand = Candidate(release.name, release.version, sdist, None, decided_by="sdist fallback")
        return VersionChoice(
            release, cand, selection, metadata, route, support, "", variant_seen, notes
        )
    reason = summarize_rejections(release, selection, allow_sdists=allow_sdists)
    return VersionChoice(
        release, None, selection, metadata, route, support, reason, variant_seen, notes
    )


def summarize_rejections(
    release: Release, selection: WheelSelection | None, *, allow_sdists: bool = True
) -> str:
    """One line: why no file of this release is usable (every variant's reason, grouped)."""
    if selection is None or not selection.rejected:
        if release.sdists and not allow_sdists:
            return "only a source distribution, and building from source is disabled"
        return "no files"
    by_message: dict[str, list[str]] = {}
    tag_only = not_requested = 0
    if selection.missing:  # the request names no variant of this version: that is the answer
        return selection.missing
    other_tags: dict[str, None] = {}
    for rej in selection.rejected:
        if rej.reason.code == ReasonCode.TAG_MISMATCH:
            tag_only += 1
            wf = rej.wheel
            other_tags[f"{wf.python_tag}-{wf.abi_tag}-{wf.platform_tag}"] = None
            continue
        if rej.reason.code == ReasonCode.NOT_REQUESTED:
            not_requested += 1
            continue
        label = rej.wheel.label if rej.wheel.label is not None else "non-variant"
        message = rej.reason.message.removeprefix(f"{rej.wheel.filename}: ")
        labels = by_message.setdefault(message, [])
        if label not in labels:
            labels.append(label)
    parts = _grouped_by_cause(by_message)
    if not_requested:
        parts.append(f"{not_requested} wheel(s) of other variants than the one requested")
    if tag_only:
        # as uv's hint: say which tags exist, so the user sees what machine they are for
        shown = sorted(other_tags)
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        parts.append(
            f"{tag_only} wheel(s) with tags this target does not support "
            f"({', '.join(shown[:5])}{more})"
        )
    return "; ".join(parts)


def _grouped_by_cause(by_message: dict[str, list[str]]) -> list[str]:
    """``labels: needs; why`` per rejection, where one cause (a provider's "no NVIDIA GPU
    found (...)", the target's values) shared by several variants is said once, after them."""
    by_cause: dict[str, list[str]] = {}
    for message, labels in by_message.items():
        needs, sep, why = message.partition("; ")
        key = why if sep else ""
        by_cause.setdefault(key, []).append(
            f"{', '.join(sorted(labels))}: {needs if sep else message}"
        )
    parts = []
    for why, items in by_cause.items():
        items.sort()
        if not why:
            parts.extend(items)
        elif len(items) == 1:
            parts.append(f"{items[0]}; {why}")
        else:
            who = "both" if len(items) == 2 else f"all {len(items)}"
            parts.append(f"{'; '.join(items)}; for {who}: {why}")
    parts.sort()
    return parts


def request_hint(
    request: VariantRequest | None,
    failed: VersionChoice,
    others: Iterable[VersionChoice],
    *,
    limit: int = 3,
) -> str:
    """``torch 2.8.0 has cu128``: when ``failed`` lacks what ``request`` asks for, the other
    versions (newest first, at most ``limit``) whose variant metadata has it; else ``""``.
    ``others`` is consumed only in that case (it may fetch metadata)."""
    if request is None or failed.selection is None or not failed.selection.missing:
        return ""
    have = [
        ch.release
        for ch in others
        if ch.release.version != failed.release.version
        and ch.metadata is not None
        and any(request.matches(label, props) for label, props in ch.metadata.variants.items())
    ]
    if not have:
        return ""
    have.sort(key=lambda r: r.version, reverse=True)
    shown = ", ".join(str(r.version) for r in have[:limit])
    more = f" and {len(have) - limit} more" if len(have) > limit else ""
    verb = "has" if len(have) == 1 else "have"
    if request.is_null:
        thing = "the null variant"
    elif request.label is not None:
        thing = request.label
    else:
        thing = f"a variant with {request}"
    return f"{have[0].name} {shown}{more} {verb} {thing}"
