"""A no-op install without a resolver: every requirement already satisfied in the environment.

``pip install X`` with ``X`` and its dependencies installed is the most common install of all.
The resolver would keep each installed distribution (``VariantProvider`` offers it first), so
the answer is known from the environment alone: walk the requirements and the installed
distributions' ``Requires-Dist`` (markers, extras) and check each installed version against
every specifier and ``-c`` constraint. No index client, no provider, no resolvelib.

Anything this walk cannot decide exactly as the resolver would (``--upgrade``,
``--force-reinstall``, ``--force-variant``, a wheel named directly, a ``--variant`` pin the
installed label does not match, variant markers in an installed variant's ``Requires-Dist``,
a METADATA this reader does not follow) answers None: the caller resolves as usual.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from packaging.utils import NormalizedName, canonicalize_name

if TYPE_CHECKING:
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from varwheel.index.client import IndexClient
    from varwheel.install.environment import TargetEnvironment
    from varwheel.install.installed import InstalledDistribution
    from varwheel.resolve.candidates import Candidate
    from varwheel.resolve.resolution import Resolution
    from varwheel.spec.selection import Preferences

__all__ = ["DeferredSource", "KeptSession", "Satisfied", "already_satisfied"]


class Settings(Protocol):
    """What the fast path reads of ``varwheel.settings.Settings`` (structural: the resolve
    layer sits below settings and must not import it)."""

    @property
    def preferences(self) -> Preferences | None: ...
    @property
    def variant_for(self) -> Mapping[NormalizedName, str]: ...
    @property
    def no_deps(self) -> bool: ...
    @property
    def upgrade(self) -> bool: ...
    @property
    def force_reinstall(self) -> bool: ...
    @property
    def constraints(self) -> tuple[tuple[Requirement, str], ...]: ...
    @property
    def hashes(self) -> tuple[tuple[NormalizedName, str], ...]: ...
    @property
    def direct_lines(self) -> tuple[str, ...]: ...

    def index_client(self) -> IndexClient: ...


class Target(Protocol):
    """What the fast path reads of ``varwheel.target.Target``."""

    @property
    def is_cross(self) -> bool: ...
    @property
    def marker_env(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Satisfied:
    """The resolution the resolver would return (every package an installed one, kept), the
    environment's distributions (read on first use) and a session stand-in for the plan."""

    resolution: Resolution
    installed: Mapping[NormalizedName, InstalledDistribution]
    session: KeptSession


class KeptSession:
    """What an ``InstallPlan`` asks of its session when every package is kept: no metadata was
    read (the resolver reads none for an installed distribution either), nothing to close."""

    def metadata(self, cand: Candidate) -> None:
        return None

    def built_wheel(self, cand: Candidate) -> Path:
        raise RuntimeError(f"{cand.name} is installed: nothing was built")

    def close(self) -> None:
        pass


class DeferredSource:
    """The settings' index source, built on first use: a kept plan never reads an index, yet
    ``plan.source`` stays usable for a caller who wants it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._source: Any = None

    def _get(self) -> Any:
        if self._source is None:
            from varwheel.resolve.source import IndexSource

            self._source = IndexSource(self._settings.index_client())
        return self._source

    @property
    def warnings(self) -> tuple[str, ...]:
        return () if self._source is None else tuple(self._source.warnings)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)


class _LazyInstalled(Mapping[NormalizedName, "InstalledDistribution"]):
    """``installed_from_env`` of the scan, computed on first use (it parses every METADATA)."""

    def __init__(self, env: TargetEnvironment, dists: Mapping[NormalizedName, Any]) -> None:
        self._env, self._dists = env, dists
        self._value: dict[NormalizedName, InstalledDistribution] | None = None

    def _get(self) -> dict[NormalizedName, InstalledDistribution]:
        if self._value is None:
            from varwheel.install.installed import installed_from_env

            self._value = installed_from_env(self._env, self._dists)
        return self._value

    def __getitem__(self, key: NormalizedName) -> InstalledDistribution:
        return self._get()[key]

    def __iter__(self) -> Iterator[NormalizedName]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def fast_path_applies(settings: Settings, target: Target, direct: Mapping[str, Any]) -> bool:
    """Whether the options leave the installed distributions as the resolver's answer."""
    prefs = settings.preferences
    return not (
        target.is_cross  # another machine's distributions are unknown
        or settings.upgrade
        or settings.force_reinstall
        or (prefs is not None and prefs.force_variant)
        or settings.hashes  # hash-checking mode: let the full path decide
        or getattr(settings, "require_hashes", False)
        or getattr(settings, "reinstall_packages", ())
        or direct
        or settings.direct_lines
    )


def already_satisfied(
    requirements: Sequence[Requirement],
    settings: Settings,
    target: Target,
    environment: TargetEnvironment,
    *,
    direct: Mapping[str, Any] | None = None,
    dists: Mapping[NormalizedName, InstalledDistribution] | None = None,
) -> Satisfied | None:
    """The kept-as-installed resolution of ``requirements`` in ``environment``, or None when a
    requirement (or a dependency of an installed distribution) is not satisfied there or the
    options ask for more than keeping what is installed. ``dists``: the plan's one scan of
    ``environment`` (default: scanned here)."""
    if not fast_path_applies(settings, target, direct or {}):
        return None
    if dists is None:
        from varwheel.install.installed import installed_distributions

        dists = installed_distributions(environment)
    try:
        packages = _Walk(dists, settings, target.marker_env).run(requirements)
    except Exception:  # a marker or version the resolver reports in its own words
        return None
    if packages is None:
        return None
    from varwheel.resolve.resolution import Resolution

    return Satisfied(
        Resolution(packages, dict(target.marker_env)),
        _LazyInstalled(environment, dists),
        KeptSession(),
    )


class _Walk:
    """Requirements -> installed distributions, breadth first over ``(name, extras)``
    identifiers as the resolver visits them."""

    def __init__(
        self,
        dists: Mapping[NormalizedName, InstalledDistribution],
        settings: Settings,
        marker_env: Mapping[str, str],
    ) -> None:
        self.dists = dists
        self.marker_env = dict(marker_env)
        self.variant_for = settings.variant_for
        self.no_deps = settings.no_deps
        self.constraints = [
            (canonicalize_name(req.name), req.specifier)
            for req, _source in settings.constraints
            if req.marker is None or req.marker.evaluate(dict(marker_env))
        ]
        self._versions: dict[NormalizedName, Version | None] = {}

    def run(self, requirements: Sequence[Requirement]) -> tuple[Any, ...] | None:
        from varwheel.resolve.candidates import Candidate
        from varwheel.resolve.resolution import ResolvedPackage

        roots = [r for r in requirements if r.marker is None or r.marker.evaluate(self.marker_env)]
        requested_extras: dict[NormalizedName, set[str]] = {}
        queue: list[tuple[NormalizedName, frozenset[str], Requirement]] = []
        for req in roots:
            name = canonicalize_name(req.name)
            extras = frozenset(canonicalize_name(e) for e in req.extras)
            requested_extras.setdefault(name, set()).update(extras)
            queue.append((name, extras, req))
        seen: set[tuple[NormalizedName, frozenset[str]]] = set()
        all_extras: dict[NormalizedName, set[str]] = {}
        while queue:
            name, extras, req = queue.pop(0)
            if req.url is not None or not self._satisfies(name, req.specifier):
                return None
            all_extras.setdefault(name, set()).update(extras)
            if (name, extras) in seen:
                continue
            seen.add((name, extras))
            if self.no_deps:
                continue
            deps = self._dependencies(name, extras)
            if deps is None:
                return None
            for dep in deps:
                queue.append(
                    (
                        canonicalize_name(dep.name),
                        frozenset(canonicalize_name(e) for e in dep.extras),
                        dep,
                    )
                )
        packages = []
        for name in sorted(all_extras):
            dist = self.dists[name]
            version = self._versions[name]
            assert version is not None
            cand = Candidate(name, version, None, None, label=dist.variant_label, installed=True)
            packages.append(
                ResolvedPackage(
                    cand,
                    name in requested_extras,
                    frozenset(requested_extras.get(name, ())),
                    extras=frozenset(all_extras[name]),
                )
            )
        return tuple(packages)

    def _version(self, name: NormalizedName) -> Version | None:
        if name not in self._versions:
            from packaging.version import InvalidVersion, Version

            dist = self.dists.get(name)
            try:
                # the resolver leaves out an installed version it cannot compare
                self._versions[name] = None if dist is None else Version(dist.version)
            except (InvalidVersion, ValueError):
                self._versions[name] = None
        return self._versions[name]

    def _satisfies(self, name: NormalizedName, spec: SpecifierSet) -> bool:
        version = self._version(name)
        if version is None:
            return False
        pinned = self.variant_for.get(name)
        if pinned is not None and self.dists[name].variant_label != pinned:
            return False  # --variant NAME=LABEL: a requirement the installed label does not meet
        if not spec.contains(version, prereleases=True):
            return False
        return all(c.contains(version, prereleases=True) for n, c in self.constraints if n == name)

    def _dependencies(
        self, name: NormalizedName, extras: frozenset[str]
    ) -> list[Requirement] | None:
        """Requires-Dist of the installed distribution that applies to the target with these
        extras (as the resolver evaluates it); None when only the resolver can tell."""
        dist = self.dists[name]
        lines = requires_dist(dist.dist_info)
        if lines is None:
            return None
        if dist.variant_label is not None and any("variant_" in line for line in lines):
            # variant markers see the installed variant's supported properties: providers
            return None
        from varwheel.errors import InvalidMarker
        from varwheel.spec.markers import VariantEnvironment, requirement_applies

        env = VariantEnvironment.non_variant()
        out = []
        for line in lines:
            try:
                req = requirement_applies(line, self.marker_env, env, extras)
            except (InvalidMarker, ValueError):
                return None  # the resolver reports it, naming the file
            if req is not None:
                out.append(req)
        return out


def requires_dist(dist_info: Path) -> list[str] | None:
    """The ``Requires-Dist`` values of a distribution's METADATA header, read without the email
    parser; ``[]`` without a METADATA (as the resolver's view: an .egg-info lists none there);
    None for a header this reader does not follow (folded lines, not UTF-8)."""
    try:
        data = (dist_info / "METADATA").read_bytes()
    except OSError:
        return []
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    out: list[str] = []
    key = ""
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line:
            continue
        if line[:1] in (" ", "\t"):
            if key == "requires-dist":
                return None  # a folded Requires-Dist: leave it to the full parser
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        key = name.strip().lower()
        if key == "requires-dist":
            out.append(value.strip())
    return out
