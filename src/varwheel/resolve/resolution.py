"""What a resolution is: per package the candidate kept or chosen, and what the user is told
about it. Kept apart from the resolver so that a no-op install (``resolve.satisfied``) builds one
without importing resolvelib, the finder or the index client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

    from varwheel.resolve.candidates import Candidate, VersionChoice

__all__ = ["Resolution", "ResolvedPackage", "missing_extras", "yanked_choices"]


@dataclass(frozen=True)
class ResolvedPackage:
    candidate: Candidate
    requested: bool
    requested_extras: frozenset[str] = frozenset()
    choice: VersionChoice | None = None  # None for an installed distribution kept as is
    metadata: RawMetadata | None = None  # core metadata when it was read
    built_wheel: Path | None = None  # wheel built from the candidate's sdist
    is_direct: bool = False  # named by path on the command line (PEP 610 direct URL)
    extras: frozenset[str] = frozenset()  # every extra asked for, by the user or a dependency

    @property
    def name(self) -> NormalizedName:
        return self.candidate.name


@dataclass(frozen=True)
class Resolution:
    packages: tuple[ResolvedPackage, ...]
    marker_env: Mapping[str, str] = field(default_factory=dict)
    # e.g. "an older version has a variant for this target" (resolve.older)
    hints: tuple[str, ...] = ()

    def by_name(self) -> dict[NormalizedName, ResolvedPackage]:
        return {p.name: p for p in self.packages}

    def warnings(self) -> list[str]:
        """What the user is told about this resolution before anything is installed: requested
        extras a chosen distribution does not declare, yanked files chosen because pinned, and
        ``hints`` (an older version with a variant for this target)."""
        return missing_extras(self) + yanked_choices(self) + list(self.hints)


def missing_extras(resolution: Resolution) -> list[str]:
    """Requested extras a chosen distribution does not declare (``Provides-Extra``), in pip's
    words; installing goes on without them, as pip and uv do."""
    out = []
    for pkg in resolution.packages:
        wanted = pkg.extras | pkg.requested_extras
        if not wanted or pkg.metadata is None:
            continue
        provided = {canonicalize_name(e) for e in pkg.metadata.get("provides_extra", [])}
        for extra in sorted(wanted - provided):
            out.append(f"{pkg.name} {pkg.candidate.version} does not provide the extra '{extra}'")
    return out


def yanked_choices(resolution: Resolution) -> list[str]:
    """PEP 592: a yanked file is only chosen when pinned, and the user is told so (as pip)."""
    out = []
    for pkg in resolution.packages:
        file = pkg.candidate.file
        if file is not None and file.yanked and not pkg.candidate.installed:
            # the reason comes from the index: no terminal control characters
            text = "".join(c if c.isprintable() else "?" for c in file.yanked_reason or "")
            reason = f" (reason: {text})" if text else ""
            out.append(
                f"{pkg.name} {pkg.candidate.version} is yanked{reason}; "
                "installing it because it was pinned"
            )
    return out
