"""Supported values of the reserved ``abi_dependency`` namespace (PEP 817 §"Optional
``abi_dependency`` namespace"; digest §8.6).

``abi_dependency :: torch :: 2.9`` means ``torch==2.9.*``. The supported values come from the
TARGET environment (the caller passes its installed distributions) plus what the same install
adds or upgrades — never from varwheel's own process (variantlib's mistake, peers.md §5.6).
"""

from __future__ import annotations

from collections.abc import Mapping

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ABI_NAMESPACE = "abi_dependency"


def feature_name(distribution: str) -> str:
    """PEP 503 name with ``-`` -> ``_`` (the feature regex forbids ``-``; digest §8.6 [GAP])."""
    return canonicalize_name(distribution).replace("-", "_")


def abi_values(version: str | Version) -> tuple[str, ...]:
    """``X.Y.Z``, ``X.Y``, ``X`` for a version, most specific first; () for a nonzero epoch.

    Shorter releases are zero-padded (``2.9`` satisfies ``==2.9.0.*``); pre/post/local segments
    are ignored, as ``=={value}.*`` ignores them too.
    """
    try:
        parsed = version if isinstance(version, Version) else Version(version)
    except InvalidVersion:
        return ()
    if parsed.epoch != 0:
        return ()
    release = (*parsed.release, 0, 0)[:3]
    return tuple(".".join(str(part) for part in release[:n]) for n in (3, 2, 1))


def abi_supported(
    installed: Mapping[str, str], adding: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Feature -> supported values for ``abi_dependency``.

    ``installed`` maps distribution names of the target environment to versions; ``adding`` maps
    the distributions this install adds or upgrades (their new version replaces the installed
    one). Distributions with an invalid version or a nonzero epoch contribute nothing.
    """
    versions: dict[str, str] = {}
    for source in (installed, adding or {}):
        for name, version in source.items():
            versions[feature_name(name)] = version
    result: dict[str, tuple[str, ...]] = {}
    for feature in sorted(versions):
        values = abi_values(versions[feature])
        if values:
            result[feature] = values
    return result
