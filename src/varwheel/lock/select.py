"""Choose what to install from a lock on one target, with no resolution and no index.

From the lock's requirements, walk the locked packages: per package, rank its listed wheels
with ``spec.selection.select_wheels`` (tags, then variants with the target's support from its
providers or ``--profile``, and ``--variant/--prefer/--forbid/--no-variants``); then evaluate
the chosen wheel's Requires-Dist (kept in the lock) with the target's markers and the chosen
variant's markers (PEP 825: its properties the target supports) to find the next packages.
Every dependency must be locked at a version that satisfies it, else the lock is inconsistent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name

from varwheel.errors import InvalidMarker, ResolutionError
from varwheel.lock.model import InvalidLock, LockedPackage, LockedWheel, LockFile
from varwheel.lock.read import first_line
from varwheel.resolve.candidates import summarize_rejections
from varwheel.resolve.metadata import dependencies
from varwheel.resolve.options import ResolveOptions
from varwheel.spec.markers import VariantEnvironment, filter_supported
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.spec.selection import SupportedProperties, WheelSelection, select_wheels
from varwheel.spec.validation import printable

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

SupportFunction = Callable[[VariantMetadata], SupportedProperties]


class NoLockedWheel(ResolutionError):
    """No wheel the lock lists for a package fits this target (exit 1)."""


@dataclass(frozen=True)
class Planned:
    """One package to install from the lock, and why this wheel."""

    package: LockedPackage
    wheel: LockedWheel
    selection: WheelSelection
    support: SupportedProperties | None
    properties: tuple[VariantProperty, ...] = ()
    marker_properties: frozenset[VariantProperty] = frozenset()
    decided_by: str = ""
    requested: bool = False
    extras: frozenset[str] = frozenset()
    required_by: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()  # canonical names this wheel pulls in on this target
    walked: bool = True  # False: another tool's lock, no Requires-Dist kept (markers decided)

    @property
    def name(self) -> NormalizedName:
        return self.package.name

    @property
    def label(self) -> str | None:
        return self.wheel.label

    def used_metadata(self) -> RawMetadata | None:
        """What the choice read of the wheel's METADATA (checked against the wheel itself);
        None when nothing was read from it (another tool's lock)."""
        if not self.walked:
            return None
        return {  # type: ignore[typeddict-item]
            "name": self.package.name,
            "version": str(self.package.version),
            "requires_dist": list(self.package.requires_dist_of(self.wheel)),
        }


@dataclass(frozen=True)
class LockPlan:
    items: tuple[Planned, ...]
    ignored: tuple[str, ...] = field(default_factory=tuple)  # root requirements whose markers fail

    def by_name(self) -> dict[NormalizedName, Planned]:
        return {p.name: p for p in self.items}


def check_environment(lock: LockFile, marker_env: Mapping[str, str]) -> None:
    """PEP 751: ``requires-python`` and ``environments`` must hold for the target."""
    env = dict(marker_env)
    if lock.requires_python:
        from packaging.specifiers import SpecifierSet

        version = env.get("python_full_version", "")
        if version and not SpecifierSet(lock.requires_python).contains(version, prereleases=True):
            raise NoLockedWheel(
                f"{lock.source}: requires Python {lock.requires_python}, the target has {version}"
            )
    if lock.environments and not any(Marker(m).evaluate(env) for m in lock.environments):
        shown = "; ".join(lock.environments)
        raise NoLockedWheel(
            f"{lock.source}: made for other machines ({shown}); lock again with a profile of this one"
        )


@dataclass
class _Choice:
    """The walk's state for one package: its chosen wheel and what it pulled in so far."""

    wheel: LockedWheel
    selection: WheelSelection
    support: SupportedProperties | None
    properties: tuple[VariantProperty, ...]
    marker_properties: frozenset[VariantProperty]
    decided_by: str
    variant: VariantEnvironment
    required_by: list[str] = field(default_factory=list)
    extras: set[str] = field(default_factory=set)
    deps: set[NormalizedName] = field(default_factory=set)


def select_from_lock(
    lock: LockFile,
    *,
    tags: Sequence[Tag],
    marker_env: Mapping[str, str],
    support_for: SupportFunction,
    options: ResolveOptions,
) -> LockPlan:
    check_environment(lock, marker_env)
    by_name = lock.by_name()
    env = dict(marker_env)
    roots: list[Requirement] = []
    ignored: list[str] = []
    if lock.walk:
        for text in lock.requirements:
            req = _requirement(text, f"{lock.source}: tool.varwheel.requirements")
            if req.marker is not None and not req.marker.evaluate(env):
                ignored.append(text)
                continue
            roots.append(req)
    else:  # a lock made by another tool: every package whose marker holds (PEP 751)
        lock_env = {**env, "extras": frozenset(), "dependency_groups": frozenset()}
        for pkg in lock.packages:
            if pkg.marker is None or pkg.marker.evaluate(lock_env, "lock_file"):
                roots.append(Requirement(f"{pkg.name}=={pkg.version}"))
    requested = {canonicalize_name(r.name) for r in roots}
    chosen: dict[NormalizedName, _Choice] = {}
    done: set[tuple[NormalizedName, str]] = set()  # (name, extra) whose dependencies were added
    queue = deque((r, "requested") for r in roots)
    while queue:
        req, parent = queue.popleft()
        name = canonicalize_name(req.name)
        pkg = by_name.get(name)
        if pkg is None:
            raise InvalidLock(
                f"{lock.source}: {parent} requires {req}, which the lock does not list"
            )
        if not req.specifier.contains(pkg.version, prereleases=True):
            raise InvalidLock(
                f"{lock.source}: {parent} requires {req}, but the lock has {name} {pkg.version}"
            )
        item = chosen.get(name)
        if item is None:
            _check_python(pkg, env, lock.source)
            item = chosen[name] = _choose(pkg, tags, support_for, options)
        if parent not in item.required_by:
            item.required_by.append(parent)
        extras = {canonicalize_name(e) for e in req.extras}
        item.extras |= extras
        for extra in ("", *sorted(extras)):
            if (name, extra) in done:
                continue
            done.add((name, extra))
            raw: RawMetadata = {"requires_dist": list(pkg.requires_dist_of(item.wheel))}  # type: ignore[typeddict-item]
            try:
                deps = dependencies(
                    raw,
                    marker_env=env,
                    variant=item.variant,
                    extras=(extra,) if extra else (),
                    source=f"{lock.source}: {name}",
                )
            except (InvalidMarker, InvalidRequirement) as exc:
                raise InvalidLock(first_line(str(exc))) from None  # names the lock and package
            for dep in deps:
                item.deps.add(canonicalize_name(dep.name))
                queue.append((dep, f"{name} {pkg.version}"))
    items = [
        Planned(
            package=by_name[name],
            wheel=c.wheel,
            selection=c.selection,
            support=c.support,
            properties=c.properties,
            marker_properties=c.marker_properties,
            decided_by=c.decided_by,
            requested=name in requested,
            extras=frozenset(c.extras),
            required_by=tuple(c.required_by),
            dependencies=tuple(sorted(c.deps)),
            walked=lock.walk,
        )
        for name, c in sorted(chosen.items())
    ]
    return LockPlan(tuple(items), tuple(ignored))


def _check_python(pkg: LockedPackage, env: Mapping[str, str], source: str) -> None:
    """PEP 751 ``packages.requires-python``: "an error MUST be raised if it isn't" satisfied."""
    version = env.get("python_full_version", "")
    if pkg.requires_python and version:
        from packaging.specifiers import SpecifierSet

        if not SpecifierSet(pkg.requires_python).contains(version, prereleases=True):
            raise NoLockedWheel(
                f"{source}: {pkg.name} {pkg.version} requires Python {pkg.requires_python}, "
                f"the target has {version}; lock again with a profile of this machine"
            )


def _choose(
    pkg: LockedPackage,
    tags: Sequence[Tag],
    support_for: SupportFunction,
    options: ResolveOptions,
) -> _Choice:
    """Rank the package's listed wheels for the target; the best one, or why none fits."""
    support = support_for(pkg.variants) if pkg.variants is not None else None
    by_filename = {w.filename: w for w in pkg.wheels}
    selection = select_wheels(
        [w.filename for w in pkg.wheels],
        pkg.variants,
        support or SupportedProperties({}),
        tags,
        options.prefs_for(pkg.name),
    )
    if not selection.ranked:
        from varwheel.resolve.candidates import Release

        reason = summarize_rejections(Release(pkg.name, pkg.version), selection)
        raise NoLockedWheel(
            f"{pkg.name} {pkg.version}: no wheel in the lock fits this target: {reason}; "
            "lock again with a profile of this machine"
        )
    best = selection.ranked[0]
    props = tuple(best.properties)
    marker_props = (
        frozenset(filter_supported(frozenset(props), support)) if props and support else frozenset()
    )
    variant = (
        VariantEnvironment.non_variant()
        if best.label is None
        else VariantEnvironment(best.label, marker_props)
    )
    return _Choice(
        by_filename[best.wheel], selection, support, props, marker_props, best.decided_by, variant
    )


def _requirement(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InvalidLock(f"{where}: {printable(text)!r}: {first_line(str(exc))}") from None
