"""After an install or uninstall: requirements of installed distributions that the environment
no longer meets, in pip's words ("X requires Y, but you have Y 1.0 which is incompatible")."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

if TYPE_CHECKING:
    from varwheel.install.installed import InstalledDistribution


def dependency_problems(
    installed: Mapping[NormalizedName, InstalledDistribution],
    marker_env: Mapping[str, str],
    *,
    touched: Collection[str],
) -> list[str]:
    """Unmet requirements that involve a ``touched`` distribution (installed, replaced or
    removed by this run), either as the one requiring or as the one required. Versions are
    shown as PEP 440 normalises them; a distribution without a valid version is skipped
    (``installed_from_env`` leaves those out)."""
    names = {canonicalize_name(n) for n in touched}
    env = {**marker_env, "extra": ""}
    out: list[str] = []
    for dist in installed.values():
        if dist.parsed_version is None:
            continue
        for text in dist.requires_dist:
            try:
                req = Requirement(text)
                applies = req.marker is None or req.marker.evaluate(env)
            except (InvalidRequirement, UndefinedEnvironmentName):
                continue  # variant markers (PEP 825) or a broken line: no claim either way
            dep = canonicalize_name(req.name)
            if not applies or (dist.name not in names and dep not in names):
                continue
            have = installed.get(dep)
            have_version = None if have is None else have.parsed_version
            wanted = f"{req.name}{req.specifier}"
            if have is None or have_version is None:
                out.append(
                    f"{dist.name} {dist.parsed_version} requires {wanted}, which is not installed"
                )
            elif not req.specifier.contains(have_version, prereleases=True):
                out.append(
                    f"{dist.name} {dist.parsed_version} requires {wanted}, but you have "
                    f"{have.name} {have_version} which is incompatible"
                )
    return out
