"""A note when the version chosen has no variant wheels but an older one has a variant for this
machine (``install torch`` with CUDA 12.8 picks torch 2.9.1, published without variants, while
2.9.0 has a ``cuda12.8`` build): the user is told which version and how to ask for it."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from varwheel.errors import VarwheelError
from varwheel.resolve.candidates import VersionChoice, has_tag_compatible_variant
from varwheel.resolve.finder import Finder

# Older releases looked at for tag-compatible variant wheels (from the page already read; only
# the first such release has its variant metadata fetched and ranked).
MAX_OLDER = 20


def older_variant_note(
    finder: Finder, name: str, specifier: SpecifierSet, chosen: VersionChoice
) -> str:
    """``""``, or one line naming the newest older release (within ``specifier``) that has a
    variant with properties for this target when ``chosen`` has no variant wheels at all."""
    cand = chosen.candidate
    key = canonicalize_name(name)
    if cand is None or cand.label is not None or chosen.variant_wheels_seen:
        return ""
    if key in finder.direct or not finder.options.prefs_for(key).variants_enabled:
        return ""
    releases = finder.releases(key)
    pinned = any(s.operator in ("==", "===") for s in specifier)
    older = [v for v in finder.versions(key, specifier, pinned=pinned) if v < cand.version]
    for version in older[:MAX_OLDER]:
        if not has_tag_compatible_variant(releases[version].wheels, finder.tags):
            continue
        try:
            best = finder.choice(key, version).candidate
        except VarwheelError:
            return ""  # a note is never worth failing an install over
        if best is None or best.label is None or not best.properties:
            return ""  # the newest release with variants has none for this machine
        return _words(key, cand.version, version, best.label)
    return ""


def _words(name: str, newest: Version, version: Version, label: str) -> str:
    return (
        f"{name} {newest} has no variant wheels; {name} {version} has a variant for this "
        f"target ({label}): to get it, ask for {name}=={version}"
    )
