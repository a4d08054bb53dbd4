"""Settings of one resolution: what the user asked for beyond the requirements themselves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from varwheel.errors import InvalidInput
from varwheel.spec.request import VariantRequest, as_request
from varwheel.spec.selection import Preferences, with_request

if TYPE_CHECKING:
    from varwheel.resolve.candidates import Candidate, VersionChoice


@dataclass(frozen=True)
class Constraint:
    """A ``-c`` line: narrows the versions of ``name`` if something requires it, installs nothing."""

    name: NormalizedName
    specifier: SpecifierSet
    source: str  # "FILE:LINE", for error messages


@dataclass(frozen=True)
class ResolveOptions:
    """How versions and wheels are chosen.

    ``variant_for`` maps a canonical project name to the user's ``--variant`` request for it
    (``spec.request``: a ``VariantRequest``, or a bare label as lock files pin one); it narrows
    ``prefs`` for that project only. A request with variants disabled is a contradiction.
    ``upgrade`` names the projects that may replace an installed distribution (pip's
    only-if-needed strategy: the requested ones); ``force_reinstall`` ignores installed ones.
    """

    prefs: Preferences = field(default_factory=Preferences)
    variant_for: Mapping[NormalizedName, str | VariantRequest] = field(default_factory=dict)
    allow_prereleases: bool = False
    no_deps: bool = False
    upgrade: frozenset[NormalizedName] = frozenset()
    force_reinstall: bool = False
    allow_sdists: bool = True
    build_isolation: bool = True
    constraints: tuple[Constraint, ...] = ()
    # issue 11 (cli engineer): --reinstall-package, --upgrade-strategy eager, --only-binary /
    # --no-binary (pip's FormatControl: names or ":all:"; a name wins over ":all:")
    reinstall: frozenset[NormalizedName] = frozenset()
    upgrade_eager: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()

    def reinstalls(self, name: NormalizedName) -> bool:
        """An installed ``name`` is never kept (``--force-reinstall``/``--reinstall[-package]``)."""
        return self.force_reinstall or name in self.reinstall

    def upgrades(self, name: NormalizedName) -> bool:
        """``name`` may replace an installed distribution: it was named with ``--upgrade``, or
        the strategy is eager (pip: every package of the resolution is upgraded)."""
        return name in self.upgrade or (self.upgrade_eager and bool(self.upgrade))

    def wheels_allowed(self, name: NormalizedName) -> bool:
        """pip's format control: False when ``name`` must be built from its sdist."""
        if name in self.only_binary:
            return True
        if name in self.no_binary:
            return False
        return ":all:" in self.only_binary or ":all:" not in self.no_binary

    def sdists_allowed(self, name: NormalizedName) -> bool:
        """False when ``name`` must come from a wheel (``--only-binary``, ``--no-build``)."""
        if not self.allow_sdists or name in self.only_binary:
            return False
        return name in self.no_binary or ":all:" not in self.only_binary

    def __post_init__(self) -> None:
        if self.variant_for and not self.prefs.variants_enabled:
            asked = ", ".join(
                f"{name}={as_request(value)}" for name, value in sorted(self.variant_for.items())
            )
            raise InvalidInput(
                f"--variant {asked} asks for a variant, and --no-variants (or no-variants in the "
                "configuration) installs non-variant wheels only: drop one of them"
            )

    def request_for(self, name: NormalizedName) -> VariantRequest | None:
        value = self.variant_for.get(name)
        return None if value is None else as_request(value)

    def constraint_for(self, name: NormalizedName) -> SpecifierSet:
        spec = SpecifierSet()
        for c in self.constraints:
            if c.name == name:
                spec &= c.specifier
        return spec

    def prefs_for(self, name: NormalizedName) -> Preferences:
        request = self.request_for(name)
        if request is None:
            return self.prefs
        return with_request(self.prefs, request)


class _Resolved(Protocol):
    """What :func:`request_warnings` reads of a resolved package (``resolver.ResolvedPackage``)."""

    @property
    def name(self) -> NormalizedName: ...

    @property
    def candidate(self) -> Candidate: ...

    @property
    def choice(self) -> VersionChoice | None: ...


def request_warnings(
    options: ResolveOptions,
    packages: Iterable[_Resolved],
    choices: Iterable[VersionChoice] = (),
) -> list[str]:
    """What the user asked for about variants that did nothing or went against the target,
    said before anything is installed: a ``--variant`` for a package this install does not
    include, a request that newer versions lack (an older version is installed: PEP 817 asks
    for a warning when selection falls back to an earlier version), a ``--prefer`` namespace no
    package or provider knows (a typo), and a variant installed through ``--force-variant``
    that the target does not support. ``choices``: every version choice the resolution made."""
    pkgs = list(packages)
    out: list[str] = []
    names = {p.name for p in pkgs}
    for name, value in sorted(options.variant_for.items()):
        if name not in names:
            out.append(
                f"--variant {name}={as_request(value)}: {name} is not being installed (not "
                "requested, and no requirement pulls it in), so the request does nothing"
            )
    lacking: dict[NormalizedName, list[VersionChoice]] = {}
    for ch in choices:
        if ch.selection is not None and ch.selection.missing:
            lacking.setdefault(ch.release.name, []).append(ch)
    for p in pkgs:
        newer = [
            ch
            for ch in lacking.get(p.name, ())
            if ch.release.version > p.candidate.version and not p.candidate.installed
        ]
        if newer and options.request_for(p.name) is not None:
            newest = max(newer, key=lambda ch: ch.release.version)
            out.append(
                f"{newest.selection.missing if newest.selection else ''}; installing "
                f"{p.name} {p.candidate.version}, the newest version that has it"
            )
    out += _unknown_preferred_namespaces(options, pkgs)
    for p in pkgs:
        cand = p.candidate
        if cand.forced:
            why = f": {cand.forced_reason}" if cand.forced_reason else ""
            out.append(
                f"{cand.name} {cand.version}: variant {cand.label} is forced by --force-variant "
                f"although this target does not support it{why}"
            )
    return out


def _unknown_preferred_namespaces(options: ResolveOptions, pkgs: list[_Resolved]) -> list[str]:
    """``--prefer`` properties whose namespace no provider or package knows (a typo); the
    provider modules are imported only when there is a ``--prefer`` to check."""
    if not options.prefs.prefer:
        return []
    from varwheel.providers.native import NAMESPACES

    out: list[str] = []
    known = set(NAMESPACES)
    for p in pkgs:
        md = p.choice.metadata if p.choice is not None else None
        if md is not None:
            known.update(md.namespace_priorities, md.providers)
            known.update(prop.namespace for props in md.variants.values() for prop in props)
        if p.choice is not None and p.choice.support is not None:
            known.update(p.choice.support.properties)
    for prop in dict.fromkeys(options.prefs.prefer):
        if prop.namespace not in known:
            out.append(
                f"--prefer '{prop}': no provider or package here knows the namespace "
                f"'{prop.namespace}' (known: {', '.join(sorted(known))}), so it changes nothing"
            )
    return out
