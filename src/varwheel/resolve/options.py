"""Settings of one resolution: what the user asked for beyond the requirements themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from varwheel.spec.selection import Preferences


@dataclass(frozen=True)
class Constraint:
    """A ``-c`` line: narrows the versions of ``name`` if something requires it, installs nothing."""

    name: NormalizedName
    specifier: SpecifierSet
    source: str  # "FILE:LINE", for error messages


@dataclass(frozen=True)
class ResolveOptions:
    """How versions and wheels are chosen.

    ``variant_for`` maps a canonical project name to the label the user pinned with
    ``--variant NAME=LABEL``; it narrows ``prefs`` for that project only.
    ``upgrade`` names the projects that may replace an installed distribution (pip's
    only-if-needed strategy: the requested ones); ``force_reinstall`` ignores installed ones.
    """

    prefs: Preferences = field(default_factory=Preferences)
    variant_for: Mapping[NormalizedName, str] = field(default_factory=dict)
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

    def constraint_for(self, name: NormalizedName) -> SpecifierSet:
        spec = SpecifierSet()
        for c in self.constraints:
            if c.name == name:
                spec &= c.specifier
        return spec

    def prefs_for(self, name: NormalizedName) -> Preferences:
        label = self.variant_for.get(name)
        if label is None:
            return self.prefs
        return replace(self.prefs, variant=label)
