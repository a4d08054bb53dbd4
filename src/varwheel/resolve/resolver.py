"""``resolve(requirements, ...) -> Resolution``: resolvelib over variant-aware candidates."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from varwheel.errors import ResolutionError
from varwheel.index.models import IndexFile
from varwheel.install.installed import InstalledDistribution
from varwheel.resolve.candidates import Candidate, request_hint
from varwheel.resolve.finder import Finder, SupportFunction
from varwheel.resolve.metadata import (
    dependencies,
    fetch_core_metadata,
    parse_core_metadata,
    read_wheel_metadata,
    variant_environment,
)
from varwheel.resolve.options import ResolveOptions
from varwheel.resolve.prefetch import Prefetcher
from varwheel.resolve.provider import VariantProvider, split_identifier
from varwheel.resolve.requirement import parse_requirement
from varwheel.resolve.resolution import (
    Resolution,
    ResolvedPackage,
    missing_extras,
    yanked_choices,
)
from varwheel.resolve.source import DistributionSource, as_source

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

    from varwheel.index.client import IndexClient

MAX_ROUNDS = 2000
ABI_PASSES = 3  # re-resolutions for abi_dependency on what this install adds


class Session:
    """One resolution's state: finder, metadata cache, built sdists."""

    def __init__(
        self,
        source: DistributionSource | IndexClient,
        *,
        tags: Sequence[Tag],
        marker_env: Mapping[str, str],
        support_for: SupportFunction,
        options: ResolveOptions,
        installed: Mapping[NormalizedName, InstalledDistribution] | None = None,
        build_dir: Path | None = None,
        direct: Mapping[NormalizedName, IndexFile] | None = None,
        support_adding: Callable[[Mapping[str, str]], SupportFunction] | None = None,
    ) -> None:
        self.source = as_source(source)
        self.marker_env = dict(marker_env)
        self.options = options
        self.installed = dict(installed or {})
        self._tags = tuple(tags)
        self._pyver = Version(self.marker_env.get("python_full_version", "3").rstrip("+"))
        self._direct = dict(direct or {})
        # support given what this install adds (abi_dependency); None: no second pass
        self._support_adding = support_adding
        self.adding: dict[str, str] = {}
        self._metadata: dict[tuple[NormalizedName, Version, str], RawMetadata] = {}
        self._built: dict[tuple[NormalizedName, Version], Path] = {}
        self._build_dir = build_dir
        self._own_build_dir: tempfile.TemporaryDirectory[str] | None = None
        self._start(support_for)
        # installed projects may be kept as they are: their pages may never be needed
        self._prefetch_skip = frozenset(self.finder.direct) | (
            frozenset() if options.force_reinstall else frozenset(self.installed)
        )

    def _start(self, support_for: SupportFunction) -> None:
        """A fresh finder (per-version choices depend on ``support_for``) and prefetcher."""
        self.finder = Finder(
            self.source,
            tags=self._tags,
            python_version=self._pyver,
            support_for=support_for,
            options=self.options,
            direct=self._direct,
        )
        self._prefetcher = Prefetcher(
            self.source, tags=self._tags, python_version=self._pyver, options=self.options
        )
        self.finder.prefetcher = self._prefetcher

    # -- metadata and dependencies -------------------------------------------------------
    def metadata(self, cand: Candidate) -> RawMetadata | None:
        if cand.installed:
            return None
        key = (cand.name, cand.version, cand.filename)
        if key not in self._metadata:
            if cand.is_sdist:
                data = read_wheel_metadata(self.built_wheel(cand))
            else:
                pre = self._prefetcher.metadata(cand.file.url) if cand.file else None
                data = pre if pre is not None else fetch_core_metadata(self.source, cand)
            self._metadata[key] = parse_core_metadata(data, source=cand.filename)
        return self._metadata[key]

    def built_wheel(self, cand: Candidate) -> Path:
        key = (cand.name, cand.version)
        if key not in self._built:
            assert cand.file is not None
            if self._build_dir is None:
                self._own_build_dir = tempfile.TemporaryDirectory(prefix="varwheel-build-")
                self._build_dir = Path(self._own_build_dir.name)
            self._built[key] = self.source.build_wheel(
                cand.file, self._build_dir, isolated=self.options.build_isolation
            )
        return self._built[key]

    def dependencies_of(self, cand: Candidate) -> Sequence[Requirement]:
        if self.options.no_deps:
            return ()
        if cand.installed:
            dist = self.installed[cand.name]
            raw: RawMetadata = {"requires_dist": list(dist.requires_dist)}  # type: ignore[typeddict-item]
            cand = self._installed_variant(cand, dist)
        else:
            got = self.metadata(cand)
            assert got is not None
            raw = got
            self._check_requires_python(cand, raw)
        deps = dependencies(
            raw,
            marker_env=self.marker_env,
            variant=variant_environment(cand),
            extras=cand.extras,
            source=cand.filename,
        )
        self._prefetcher.warm(deps, skip=self._prefetch_skip)
        return deps

    def _check_requires_python(self, cand: Candidate, raw: RawMetadata) -> None:
        """The wheel's own METADATA ``Requires-Python`` (core metadata 1.2), which a find-links
        directory or a local wheel never states in ``data-requires-python``: refused as pip
        refuses it, instead of installing a wheel the target cannot run. An unparsable value is
        ignored, as pip does."""
        text = raw.get("requires_python")
        if not text:
            return
        try:
            spec = SpecifierSet(text)
            fits = spec.contains(self._pyver, prereleases=True)
        except (InvalidSpecifier, ValueError):  # ValueError: a version past the digit limit
            return
        if not fits:
            raise ResolutionError(
                f"{cand.filename}: requires Python {_shown(text)} (its METADATA "
                f"Requires-Python); the target is Python {self._pyver}"
            )

    def close(self) -> None:
        """Stop background fetching; remove the wheels built from sdists unless the caller
        gave the build directory."""
        self._prefetcher.close()
        if self._own_build_dir is not None:
            self._own_build_dir.cleanup()
            self._own_build_dir = None
            self._build_dir = None
            self._built.clear()

    def prefetch_pages(self, requirements: Sequence[Requirement]) -> None:
        """Fetch these projects' index pages in the background (``explain`` of many REQs)."""
        self._prefetcher.warm(requirements, skip=frozenset(self.finder.direct), metadata=False)

    def _installed_variant(self, cand: Candidate, dist: InstalledDistribution) -> Candidate:
        """An installed variant wheel's markers see its properties the target supports
        (PEP 825), as they did when it was chosen."""
        if dist.label is None or dist.variant_json is None:
            return cand
        if not any("variant_" in line for line in dist.requires_dist):
            # no variant marker to evaluate: no provider needs to run for it
            return replace(cand, label=None)
        from varwheel.spec.markers import filter_supported
        from varwheel.spec.metadata import load_variant_json

        md = load_variant_json(dist.variant_json, source=f"{dist.name} (installed)")
        props = md.variants.get(dist.label, ())
        supported = filter_supported(props, self.finder.support_for(md)) if props else frozenset()
        return replace(cand, label=dist.label, properties=tuple(props), marker_properties=supported)

    # -- resolution -------------------------------------------------------------------------
    def resolve(self, requirements: Sequence[Requirement]) -> Resolution:
        """Resolve; when a chosen version's variants use ``abi_dependency`` on a distribution
        this install adds or changes, resolve again with those versions counted as present
        (PEP 817 §"Optional abi_dependency namespace": the values describe the environment the
        wheels are installed into, which includes this install), until nothing changes."""
        resolution = self._resolve_once(requirements)
        for _ in range(ABI_PASSES):
            if self._support_adding is None:
                break
            adding = {
                p.name: str(p.candidate.version)
                for p in resolution.packages
                if not p.candidate.installed
            }
            if adding == self.adding or not self._abi_depends_on(adding):
                break
            self.adding = adding
            self._start(self._support_adding(adding))
            resolution = self._resolve_once(requirements)
        return resolution

    def _abi_depends_on(self, adding: Mapping[str, str]) -> bool:
        """Whether a version considered so far has variants whose ``abi_dependency`` features
        name a distribution whose version this install sets differently from the last pass."""
        from varwheel.providers.abi import ABI_NAMESPACE, feature_name

        changed = {
            feature_name(name)
            for name in set(adding) | set(self.adding)
            if adding.get(name) != self.adding.get(name)
        }
        for choice in self.finder.choices():
            md = choice.metadata
            if md is None:
                continue
            for props in md.variants.values():
                if any(p.namespace == ABI_NAMESPACE and p.feature in changed for p in props):
                    return True
        return False

    def _resolve_once(self, requirements: Sequence[Requirement]) -> Resolution:
        roots = [r for r in requirements if r.marker is None or r.marker.evaluate(self.marker_env)]
        roots = [self._strip_marker(r) for r in roots]
        requested = frozenset(canonicalize_name(r.name) for r in roots)
        provider = VariantProvider(self.finder, self.dependencies_of, installed=self.installed)
        resolver: Resolver = Resolver(provider, BaseReporter())
        self._prefetcher.warm(roots, skip=self._prefetch_skip - self.options.upgrade)
        try:
            result = resolver.resolve(roots, max_rounds=MAX_ROUNDS)
        except ResolutionImpossible as err:
            raise ResolutionError(self._explain_failure(err)) from err
        except ResolutionTooDeep as err:
            raise ResolutionError(
                f"resolution gave up after {MAX_ROUNDS} rounds of backtracking; pin some versions"
            ) from err
        finally:
            self._prefetcher.close()
        extras_by_name: dict[NormalizedName, set[str]] = {}
        for r in roots:
            extras_by_name.setdefault(canonicalize_name(r.name), set()).update(
                canonicalize_name(e) for e in r.extras
            )
        all_extras: dict[NormalizedName, set[str]] = {}
        for ident in result.mapping:
            name, extras = split_identifier(ident)
            all_extras.setdefault(name, set()).update(extras)
        packages: list[ResolvedPackage] = []
        for ident, cand in sorted(result.mapping.items()):
            name, extras = split_identifier(ident)
            if extras:
                continue  # the base identifier carries the same distribution
            choice = None if cand.installed else self.finder.choice(name, cand.version)
            meta = self._metadata.get((cand.name, cand.version, cand.filename))
            built = self._built.get((cand.name, cand.version))
            packages.append(
                ResolvedPackage(
                    cand,
                    name in requested,
                    frozenset(extras_by_name.get(name, ())),
                    choice,
                    meta,
                    built,
                    name in self.finder.direct,
                    frozenset(all_extras.get(name, ())),
                )
            )
        return Resolution(tuple(packages), self.marker_env, self._older_variants(roots, packages))

    def _older_variants(
        self, roots: Sequence[Requirement], packages: Sequence[ResolvedPackage]
    ) -> tuple[str, ...]:
        """For each requested package installed without variants: an older version within
        the request that has a variant for this target (``resolve.older``)."""
        from varwheel.resolve.older import older_variant_note

        specs: dict[NormalizedName, SpecifierSet] = {}
        for r in roots:
            key = canonicalize_name(r.name)
            specs[key] = specs.get(key, SpecifierSet()) & r.specifier
        notes = []
        for pkg in packages:
            if pkg.requested and pkg.choice is not None and pkg.name in specs:
                note = older_variant_note(self.finder, pkg.name, specs[pkg.name], pkg.choice)
                if note:
                    notes.append(note)
        return tuple(notes)

    @staticmethod
    def _strip_marker(req: Requirement) -> Requirement:
        if req.marker is None:
            return req
        copy = Requirement(str(req))
        copy.marker = None
        return copy

    def _explain_failure(self, err: ResolutionImpossible) -> str:  # type: ignore[type-arg]
        causes = list(err.causes)
        names = sorted({canonicalize_name(c.requirement.name) for c in causes})
        return "; ".join(self._why(name, causes) for name in names) or (
            "no set of distributions satisfies the requirements"
        )

    def _explain_argument(self, name: NormalizedName, version: object) -> str:
        """What to pass to ``varwheel explain`` for this package: the local wheel the user
        named (``name==version`` would ask the indexes about a different, unrelated file),
        else ``name==version``."""
        direct = self.finder.direct.get(name)
        if direct is not None and direct.url.startswith("file:"):
            import shlex
            from os.path import relpath
            from urllib.parse import urlsplit
            from urllib.request import url2pathname

            path = url2pathname(urlsplit(direct.url).path)
            shown = relpath(path)
            shown = path if shown.startswith("..") else f"./{shown}"
            return shlex.quote(shown)
        return f"{name}=={version}"

    def _why(self, name: NormalizedName, causes: Sequence[Any]) -> str:
        reqs = [c for c in causes if canonicalize_name(c.requirement.name) == name]
        wanted = ", ".join(
            sorted(
                {
                    f"{c.requirement}"
                    + (
                        f" (from {c.parent.name} {c.parent.version})"
                        if c.parent
                        else " (requested)"
                    )
                    for c in reqs
                }
            )
        )
        spec = self.options.constraint_for(name)
        for c in reqs:
            spec &= c.requirement.specifier
        wanted += "".join(
            f", constraint {c.specifier} ({c.source})"
            for c in self.options.constraints
            if c.name == name
        )
        pinned = any(s.operator in ("==", "===") for s in spec)
        matching = self.finder.versions(name, spec, pinned=pinned)
        skipped = {s.version: s for s in self.finder.skipped.get(name, [])}
        if matching and all(v in skipped for v in matching):
            # every version the requirements allow lacks a usable file: say why (newest first)
            newest = skipped[matching[0]]
            more = f" (and {len(matching) - 1} older version(s))" if len(matching) > 1 else ""
            hint = request_hint(  # --variant named a variant this version lacks: who has it
                self.options.request_for(name),
                self.finder.choice(name, newest.version),
                (self.finder.choice(name, v) for v in sorted(self.finder.releases(name))[-10:]),
            )
            return (
                f"{name} {newest.version}{more} has no wheel for this target: {newest.reason}; "
                + (f"{hint}; " if hint else "")
                + f"run `varwheel explain {self._explain_argument(name, newest.version)}` "
                "for details"
            )
        if matching:
            return f"conflicting requirements on {name}: {wanted}"
        available = sorted(self.finder.releases(name))
        if not available:
            return f"no distributions of {name} found {self.finder.searched()}"
        ignored = self.finder.excluded(name, spec)
        if ignored:
            return f"no usable version of {name} matches {wanted}; ignored " + "; ".join(ignored)
        shown = ", ".join(str(v) for v in available[-5:])
        if len(reqs) > 1 and all(
            self.finder.versions(name, c.requirement.specifier, pinned=pinned) for c in reqs
        ):
            # each requirement alone is satisfiable: together they are not (pip: "conflict")
            return f"conflicting requirements on {name}: {wanted}; no version satisfies all of them (available: {shown})"
        return f"no version of {name} matches {wanted} (available: {shown})"


def resolve(
    requirements: Sequence[Requirement],
    *,
    client: DistributionSource | IndexClient,
    tags: Sequence[Tag],
    marker_env: Mapping[str, str],
    support_for: SupportFunction,
    options: ResolveOptions | None = None,
    installed: Mapping[NormalizedName, InstalledDistribution] | None = None,
    build_dir: Path | None = None,
) -> Resolution:
    """Resolve ``requirements`` for a target described by its tags and marker environment."""
    session = Session(
        client,
        tags=tags,
        marker_env=marker_env,
        support_for=support_for,
        options=options or ResolveOptions(),
        installed=installed,
        build_dir=build_dir,
    )
    return session.resolve(requirements)


__all__ = [
    "Resolution",
    "ResolvedPackage",
    "Session",
    "missing_extras",
    "parse_requirement",
    "resolve",
    "split_identifier",
    "yanked_choices",
]


def _shown(text: str) -> str:
    """A value from a wheel's METADATA in a one-line message: control characters escaped, cut."""
    clean = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return clean if len(clean) <= 120 else clean[:120] + "..."
