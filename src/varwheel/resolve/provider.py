"""resolvelib provider: requirements are ``packaging`` Requirements, candidates the best wheel of
each version (see ``candidates.choose``), identifiers ``name`` or ``name[extra,...]``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from resolvelib import AbstractProvider

from varwheel.install.installed import InstalledDistribution
from varwheel.resolve.candidates import Candidate
from varwheel.resolve.finder import Finder


def identifier(name: str, extras: Iterable[str] = ()) -> str:
    canon = canonicalize_name(name)
    ex = sorted({canonicalize_name(e) for e in extras})
    return f"{canon}[{','.join(ex)}]" if ex else canon


def split_identifier(ident: str) -> tuple[NormalizedName, frozenset[str]]:
    if "[" in ident:
        name, rest = ident.split("[", 1)
        return NormalizedName(name), frozenset(rest.rstrip("]").split(","))
    return NormalizedName(ident), frozenset()


def _pinned(spec: SpecifierSet) -> bool:
    return any(s.operator in ("==", "===") and "*" not in s.version for s in spec)


# Returns the dependencies of a candidate (extras applied) for the target.
DependencyFunction = Callable[[Candidate], Sequence[Requirement]]


class VariantProvider(AbstractProvider):  # type: ignore[type-arg]
    def __init__(
        self,
        finder: Finder,
        dependencies_of: DependencyFunction,
        *,
        installed: Mapping[NormalizedName, InstalledDistribution] | None = None,
    ) -> None:
        self.finder = finder
        self.dependencies_of = dependencies_of
        self.installed = installed or {}

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        if isinstance(requirement_or_candidate, Candidate):
            return identifier(requirement_or_candidate.name, requirement_or_candidate.extras)
        return identifier(requirement_or_candidate.name, requirement_or_candidate.extras)

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, bool, str]:
        infos = list(information[identifier])
        pinned = any(_pinned(i.requirement.specifier) for i in infos)
        direct = any(i.parent is None for i in infos)
        in_causes = any(self.identify(c.requirement) == identifier for c in backtrack_causes)
        return (not in_causes, not pinned, not direct, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]]:
        name, extras = split_identifier(identifier)
        reqs = list(requirements[identifier])
        spec = self.finder.options.constraint_for(name)
        for r in reqs:
            spec &= r.specifier
        bad = {(c.version, c.installed) for c in incompatibilities[identifier]}
        pinned = _pinned(spec)

        def generate() -> Iterator[Candidate]:
            inst = self._installed_candidate(name, spec)
            upgrading = self.finder.options.upgrades(name) and inst is None
            if inst is not None and (inst.version, True) not in bad:
                yield inst.with_extras(extras)
            first = True
            for choice in self.finder.iter_choices(name, spec, pinned=pinned):
                cand = choice.candidate
                if cand is None or (cand.version, False) in bad:
                    continue
                if first and upgrading:
                    # --upgrade keeps an installed distribution that already is the best choice:
                    # same version and same variant label (a better variant is an upgrade)
                    kept = self._installed_if_same(name, cand)
                    if kept is not None:
                        cand = kept
                first = False
                yield cand.with_extras(extras)

        return generate

    def _installed_if_same(self, name: NormalizedName, best: Candidate) -> Candidate | None:
        dist = self.installed.get(name)
        if dist is None or dist.parsed_version is None or self.finder.options.reinstalls(name):
            return None
        if dist.parsed_version != best.version or dist.label != best.label:
            return None
        return Candidate(name, dist.parsed_version, None, None, label=dist.label, installed=True)

    def _installed_candidate(self, name: NormalizedName, spec: SpecifierSet) -> Candidate | None:
        opts = self.finder.options
        dist = self.installed.get(name)
        if dist is None or opts.reinstalls(name) or opts.upgrades(name):
            return None
        version = dist.parsed_version
        if version is None or not spec.contains(version, prereleases=True):
            return None
        pinned_label = opts.variant_for.get(name)
        if pinned_label is not None and dist.label != pinned_label:
            return None  # --variant NAME=LABEL is a requirement the installed one does not meet
        return Candidate(name, version, None, None, label=dist.label, installed=True)

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        if canonicalize_name(requirement.name) != candidate.name:
            return False
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> Sequence[Requirement]:
        deps = list(self.dependencies_of(candidate))
        if candidate.extras:
            # pip's trick: name[extra] depends on name itself at the same version, so both
            # identifiers pin the same distribution (and, choices being cached, the same wheel).
            deps.append(Requirement(f"{candidate.name}=={candidate.version}"))
        return deps
