"""The installed side as data: ``show``, ``freeze`` and ``check`` (pip's commands of the same
names), read from an environment's ``*.dist-info`` directories. Nothing here prints or writes.

One scan of the environment per call (``install.installed.installed_distributions``); a
distribution's METADATA is read for its Requires-Dist only where the answer needs it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.errors import InvalidInput
from varwheel.reporter import Reporter

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from varwheel.install.environment import TargetEnvironment
    from varwheel.install.installed import InstalledDistribution
    from varwheel.settings import Settings

__all__ = [
    "DependencyProblem",
    "DistributionDetails",
    "FreezeLine",
    "ProblemKind",
    "ShowResult",
    "check_environment",
    "freeze",
    "show",
    "target_directory",
]

# pip freeze leaves these out unless --all (its own tools, not the project's requirements)
FREEZE_SKIPPED = frozenset({"pip", "setuptools", "wheel", "distribute"})


@dataclass(frozen=True)
class DistributionDetails:
    """``show NAME``: one installed distribution with its dependency edges both ways.

    ``requires``: the projects its Requires-Dist names whose markers hold for the environment
    (no extra), as pip's show; ``required_by``: installed distributions requiring it.
    ``direct_url``: the PEP 610 document when it was installed from a path or URL."""

    name: str
    canonical_name: NormalizedName
    version: str
    location: Path
    dist_info: Path
    installer: str
    requested: bool
    requires: tuple[str, ...]
    required_by: tuple[str, ...]
    variant_label: str | None
    variant_properties: tuple[str, ...]
    direct_url: Mapping[str, Any] | None
    # None: chosen as supported; else installed through --force-variant although the target
    # did not support it, and why not (as recorded at install time; "" when not recorded)
    variant_forced: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable ``show --json`` object of one distribution."""
        return {
            "name": self.name,
            "canonical_name": self.canonical_name,
            "version": self.version,
            "location": str(self.location),
            "dist_info": str(self.dist_info),
            "installer": self.installer or None,
            "requested": self.requested,
            "requires": list(self.requires),
            "required_by": list(self.required_by),
            "variant_label": self.variant_label,
            "variant_properties": list(self.variant_properties),
            "direct_url": None if self.direct_url is None else dict(self.direct_url),
            "variant_forced": self.variant_forced is not None,
            "variant_forced_reason": self.variant_forced or None,
        }


class ProblemKind(str, enum.Enum):
    """What ``check`` found wrong with one requirement of an installed distribution."""

    MISSING = "missing"
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True)
class DependencyProblem:
    """``name version`` requires ``requirement`` and the environment does not meet it."""

    name: str
    version: str
    requirement: str
    kind: ProblemKind
    dependency: str
    installed_version: str | None = None

    def message(self) -> str:
        """pip check's words."""
        if self.kind is ProblemKind.MISSING:
            return f"{self.name} {self.version} requires {self.requirement}, which is not installed"
        return (
            f"{self.name} {self.version} requires {self.requirement}, but you have "
            f"{self.dependency} {self.installed_version} which is incompatible"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "requirement": self.requirement,
            "kind": self.kind.value,
            "dependency": self.dependency,
            "installed_version": self.installed_version,
        }


@dataclass(frozen=True)
class FreezeLine:
    """One ``freeze`` line: ``name==version``, or ``name @ URL`` for a distribution installed
    from a path or URL (PEP 610); ``variant_label`` is written as a trailing comment, which
    pip and varwheel read as a comment (the label is not a requirement: see
    docs/pip-uv-comparison.md#freeze)."""

    name: str
    version: str
    url: str | None
    variant_label: str | None
    editable: bool = False

    @property
    def requirement(self) -> str:
        if self.editable and self.url:
            return f"-e {self.url}"
        if self.url:
            return f"{self.name} @ {self.url}"
        return f"{self.name}=={self.version}"

    def text(self) -> str:
        if self.variant_label:
            return f"{self.requirement}  # variant: {self.variant_label}"
        return self.requirement

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "requirement": self.requirement,
            "url": self.url,
            "editable": self.editable,
            "variant_label": self.variant_label,
        }


def _direct_url(dist: InstalledDistribution) -> Mapping[str, Any] | None:
    try:
        doc = json.loads((dist.dist_info / "direct_url.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("url"), str) else None


def _requirements(dist: InstalledDistribution) -> list[Requirement]:
    """Its Requires-Dist lines that parse (variant markers of PEP 825 included)."""
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for text in _requires_dist(dist.dist_info):
        try:
            out.append(Requirement(text))
        except InvalidRequirement:
            continue
    return out


def _requires_dist(dist_info: Path) -> tuple[str, ...]:
    """Requires-Dist of a ``.dist-info`` METADATA; an ``.egg-info`` (setuptools' own format,
    requirements in ``requires.txt`` sections) gives none: no claim either way."""
    from varwheel.spec.core_metadata import parse_core_metadata_bytes

    if dist_info.name.endswith(".egg-info"):
        return ()
    try:
        raw, _ = parse_core_metadata_bytes((dist_info / "METADATA").read_bytes())
    except OSError:
        return ()
    return tuple(raw.get("requires_dist", ()))


def _applies(req: Requirement, marker_env: Mapping[str, str]) -> bool | None:
    """Whether ``req``'s marker holds (no extra); None when it cannot be evaluated (a variant
    marker, PEP 825: no claim either way)."""
    from packaging.markers import UndefinedEnvironmentName

    if req.marker is None:
        return True
    try:
        return bool(req.marker.evaluate({**marker_env, "extra": ""}))
    except UndefinedEnvironmentName:
        return None


@dataclass(frozen=True)
class ShowResult:
    """``show``'s answer: the installed distributions named, and the names not installed."""

    found: tuple[DistributionDetails, ...]
    missing: tuple[str, ...]


def show(names: Iterable[str], environment: TargetEnvironment) -> ShowResult:
    """The named distributions (in the order given; a name may carry a version part, as
    ``NAME==1.0``) and the canonical names of those not installed."""
    from packaging.utils import canonicalize_name

    from varwheel.install.installed import installed_distributions
    from varwheel.resolve.requirement import parse_requirement

    wanted = list(dict.fromkeys(canonicalize_name(parse_requirement(n).name) for n in names))
    if not wanted:
        raise InvalidInput("no distributions named")
    dists = installed_distributions(environment)
    missing = tuple(n for n in wanted if n not in dists)
    marker_env = environment.marker_env
    edges: dict[NormalizedName, list[str]] = {}
    requires: dict[NormalizedName, list[str]] = {}
    for dist in dists.values():
        for req in _requirements(dist):
            if _applies(req, marker_env) is False:
                continue
            dep = canonicalize_name(req.name)
            requires.setdefault(dist.name, [])
            if req.name not in requires[dist.name]:
                requires[dist.name].append(req.name)
            edges.setdefault(dep, []).append(dist.display_name)
    out = []
    for name in wanted:
        dist = dists.get(name)
        if dist is None:
            continue
        out.append(
            DistributionDetails(
                name=dist.display_name,
                canonical_name=dist.name,
                version=dist.version,
                location=dist.dist_info.parent,
                dist_info=dist.dist_info,
                installer=dist.installer,
                requested=dist.requested,
                requires=tuple(sorted(requires.get(name, ()), key=str.lower)),
                required_by=tuple(sorted(set(edges.get(name, ())), key=str.lower)),
                variant_label=dist.variant_label,
                variant_properties=dist.variant_properties,
                direct_url=_direct_url(dist),
                variant_forced=dist.forced_variant,
            )
        )
    return ShowResult(tuple(out), missing)


def freeze(
    environment: TargetEnvironment, *, all_: bool = False, exclude: Collection[str] = ()
) -> list[FreezeLine]:
    """pip freeze of ``environment``, sorted by name: pip, setuptools, wheel and distribute
    are left out unless ``all_``; ``exclude`` names more to leave out."""
    from packaging.utils import canonicalize_name

    from varwheel.install.installed import installed_distributions

    skip = {canonicalize_name(n) for n in exclude}
    if not all_:
        skip |= FREEZE_SKIPPED
    out = []
    for name, dist in sorted(installed_distributions(environment).items()):
        if name in skip:
            continue
        doc = _direct_url(dist)
        url = None if doc is None else str(doc["url"])
        editable = bool(doc and (doc.get("dir_info") or {}).get("editable"))
        out.append(FreezeLine(dist.display_name, dist.version, url, dist.variant_label, editable))
    return out


def check_environment(environment: TargetEnvironment) -> list[DependencyProblem]:
    """pip check: every requirement of an installed distribution (markers evaluated for the
    environment, no extra) that is not installed or whose installed version is outside its
    specifier. Requirements with variant markers (PEP 825) are not judged."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    from varwheel.install.installed import installed_distributions

    dists = installed_distributions(environment)
    out: list[DependencyProblem] = []
    for name in sorted(dists):
        dist = dists[name]
        for req in _requirements(dist):
            if not _applies(req, environment.marker_env):
                continue
            wanted = f"{req.name}{req.specifier}"
            have = dists.get(canonicalize_name(req.name))
            if have is None:
                out.append(
                    DependencyProblem(
                        dist.name, dist.version, wanted, ProblemKind.MISSING, req.name
                    )
                )
                continue
            try:
                ok = req.specifier.contains(Version(have.version), prereleases=True)
            except InvalidVersion:
                ok = False
            if not ok:
                out.append(
                    DependencyProblem(
                        dist.name,
                        dist.version,
                        wanted,
                        ProblemKind.INCOMPATIBLE,
                        have.display_name,
                        have.version,
                    )
                )
    return out


def target_directory(
    settings: Settings, directory: str | Path, *, reporter: Reporter | None = None
) -> TargetEnvironment:
    """The environment ``install --target DIR`` changes: a plain directory (created if
    missing) for the interpreter ``settings.python`` names, else ``$VIRTUAL_ENV``'s, else the
    running one (as pip's ``--target``: the directory is not that interpreter's environment, so
    PEP 668 does not apply). An interrupted install into it is settled first."""
    from varwheel.install.environment import (
        current_environment,
        find_target_environment,
    )
    from varwheel.install.environment import target_directory as in_directory
    from varwheel.install.transaction import recover_if_needed

    reporter = reporter if reporter is not None else Reporter()
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"--target {root}: not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidInput(f"--target {root}: cannot create: {err.strerror or err}") from None
    import os

    if settings.python or os.environ.get("VIRTUAL_ENV"):
        base = find_target_environment(settings.python, project_venv=False)
    else:
        base = current_environment()
    env = in_directory(base, root)
    reporter.environment(env)
    note = recover_if_needed(env)
    if note:
        reporter.note(note)
    return env
