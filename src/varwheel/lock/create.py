"""Make a lock: resolve the requirements for every target and every variant a target may pick.

Per target, resolutions ("scenarios") with today's ``resolve.Session``:

1. the default one (the best variant of each package for that target);
2. for every other variant label the target supports of a resolved package, one with
   ``--variant NAME=LABEL`` (its dependencies may differ: variant markers, PEP 825);
3. the non-variant one (``--no-variants``): what plain PEP 751 consumers and
   ``install --no-variants`` get. A target may have none (variant-only packages).

Versions found first are pinned (as constraints) for the later scenarios and targets, so the
lock holds one version per package; a target that cannot use the pinned version is an error.
The wheels chosen by the scenarios are listed; nothing else. Each listed wheel is downloaded
once, its sha256 and size recorded, its METADATA's Requires-Dist kept for install time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from varwheel.errors import ResolutionError
from varwheel.index.client import IndexClient
from varwheel.index.models import IndexFile
from varwheel.lock.model import VARIANT_ONLY_MARKER, LockedPackage, LockedWheel, LockFile
from varwheel.lock.targets import LockTarget
from varwheel.resolve.metadata import parse_core_metadata, read_wheel_metadata
from varwheel.resolve.options import Constraint, ResolveOptions
from varwheel.resolve.resolver import Resolution, Session
from varwheel.safeparse import too_long_number_reason
from varwheel.spec.filenames import WheelFilename
from varwheel.spec.metadata import parse_json
from varwheel.spec.model import VariantMetadata
from varwheel.spec.selection import SupportedProperties
from varwheel.spec.validation import printable

SupportFor = Callable[[LockTarget], Callable[[VariantMetadata], SupportedProperties]]


class LockError(ResolutionError):
    """The targets cannot share one lock (exit 1)."""


class _Conflict(LockError):
    """A later target needs another version of a package than an earlier one locked."""

    def __init__(self, message: str, name: NormalizedName, version: Version) -> None:
        super().__init__(message)
        self.name = name
        self.version = version


@dataclass
class _Collected:
    version: Version
    files: dict[str, tuple[IndexFile, WheelFilename]] = field(default_factory=dict)
    metadata: VariantMetadata | None = None
    targets: set[str] = field(default_factory=set)
    plain_targets: set[str] = field(default_factory=set)
    requested: bool = False
    document_file: IndexFile | None = None  # the release's *-variants.json, when it has one
    first: str = ""  # the scenario that locked it first ("target 'cpu'"), for conflicts


@dataclass(frozen=True)
class LockResult:
    lock: LockFile
    notes: tuple[str, ...] = ()  # one line each: scenarios that could not be locked


def make_lock(
    requirements: Sequence[Requirement],
    targets: Sequence[LockTarget],
    *,
    client: IndexClient,
    support_for: SupportFor,
    options: ResolveOptions,
    lock_dir: Path,
    preferred: Mapping[NormalizedName, Version] | None = None,
    inputs: Mapping[str, object] | None = None,
    target_infos: Sequence[object] = (),
) -> LockResult:
    pins: dict[NormalizedName, Version] = dict(preferred or {})
    collected: dict[NormalizedName, _Collected] = {}
    notes: list[str] = []

    def run(target: LockTarget, opts: ResolveOptions) -> Resolution:
        session = Session(
            client,
            tags=target.tags,
            marker_env=target.marker_env,
            support_for=support_for(target),
            options=replace(opts, constraints=opts.constraints + _pin_constraints(pins)),
        )
        try:
            try:
                return session.resolve(requirements)
            except ResolutionError:
                if not pins:
                    raise
            session.close()
            session = Session(
                client,
                tags=target.tags,
                marker_env=target.marker_env,
                support_for=support_for(target),
                options=opts,
            )
            return session.resolve(requirements)
        finally:
            session.close()

    def record(
        resolution: Resolution, target: LockTarget, *, plain: bool, scenario: str = ""
    ) -> None:
        who = f"target '{target.name}'{scenario}"
        # all or nothing: a scenario left out must not leave some of its wheels behind
        for pkg in resolution.packages:
            cand = pkg.candidate
            if cand.is_sdist or cand.file is None or cand.wheel is None:
                raise LockError(
                    f"{cand.name} {cand.version}: only a source distribution fits target "
                    f"'{target.name}'; a lock lists wheels only (build the wheel and publish it)"
                )
            locked = collected.get(cand.name)
            if locked is not None and locked.version != cand.version:
                raise _Conflict(
                    f"{cand.name}: {who} needs {cand.version}, {locked.first} locked "
                    f"{locked.version}; one lock holds one version per package "
                    "(pin it, or make one lock per target)",
                    cand.name,
                    cand.version,
                )
        for pkg in resolution.packages:
            cand = pkg.candidate
            assert cand.file is not None and cand.wheel is not None
            got = collected.setdefault(cand.name, _Collected(cand.version, first=who))
            pins.setdefault(cand.name, cand.version)
            got.files.setdefault(cand.file.filename, (cand.file, cand.wheel))
            if pkg.choice is not None and pkg.choice.metadata is not None and got.metadata is None:
                got.metadata = pkg.choice.metadata
                got.document_file = pkg.choice.release.variants_json
            got.targets.add(target.name)
            got.requested = got.requested or pkg.requested
            if plain:
                got.plain_targets.add(target.name)

    def lock_all() -> None:
        for target in targets:
            lock_one(target)

    def lock_one(target: LockTarget) -> None:
        default = run(target, options)
        record(default, target, plain=False)
        for pkg in default.packages:
            choice = pkg.choice
            if choice is None or choice.selection is None:
                continue
            chosen = pkg.candidate.label
            labels = dict.fromkeys(
                r.label
                for r in choice.selection.ranked
                if r.label is not None and r.label != chosen
            )
            for label in labels:
                opts = replace(options, variant_for={**options.variant_for, pkg.name: label})
                try:
                    scenario = f" (variant {label!r} of {pkg.name})"
                    record(run(target, opts), target, plain=False, scenario=scenario)
                except ResolutionError as err:
                    notes.append(
                        f"target '{target.name}': variant {label!r} of {pkg.name} left out: {err}"
                    )
        plain_opts = replace(options, prefs=replace(options.prefs, variants_enabled=False))
        try:
            record(run(target, plain_opts), target, plain=True, scenario=" (no variants)")
        except ResolutionError as err:
            notes.append(
                f"target '{target.name}': no non-variant install (plain PEP 751 installers and "
                f"--no-variants will refuse there): {err}"
            )

    # The first target's versions are pinned for the next ones; when a later target needs
    # another version, start again with that version pinned for all (it may fit the earlier
    # targets too), once per package; so the order of --profile no longer decides whether a
    # version that fits every target is found.
    forced: dict[NormalizedName, Version] = {}
    while True:
        pins.clear()
        pins.update({**(preferred or {}), **forced})
        collected.clear()
        notes.clear()
        try:
            lock_all()
            break
        except _Conflict as conflict:
            if conflict.name in forced:
                raise
            forced[conflict.name] = conflict.version
    packages = _finish(collected, targets, client, lock_dir, notes)
    lock = LockFile(
        packages=packages,
        requirements=tuple(str(r) for r in requirements),
        targets=tuple(target_infos),  # type: ignore[arg-type]
        environments=tuple(sorted({t.marker for t in targets if t.marker})),
        inputs=dict(inputs or {}),
    )
    return LockResult(lock, tuple(notes))


def _pin_constraints(pins: Mapping[NormalizedName, Version]) -> tuple[Constraint, ...]:
    return tuple(
        Constraint(name, SpecifierSet(f"=={v}"), "the lock") for name, v in sorted(pins.items())
    )


def _finish(
    collected: Mapping[NormalizedName, _Collected],
    targets: Sequence[LockTarget],
    client: IndexClient,
    lock_dir: Path,
    notes: list[str],
) -> tuple[LockedPackage, ...]:
    all_markers = {t.marker for t in targets}
    marker_of = {t.name: t.marker for t in targets}
    out = []
    with tempfile.TemporaryDirectory(prefix="varwheel-lock-") as tmp:
        for name in sorted(collected):
            got = collected[name]
            wheels = []
            reqs_by_file: dict[str, tuple[str, ...]] = {}
            pythons: set[str] = set()
            for filename in sorted(got.files):
                file, wf = got.files[filename]
                path = client.download(file, Path(tmp) / name)
                data = path.read_bytes()
                raw = parse_core_metadata(read_wheel_metadata(path), source=filename)
                reqs_by_file[filename] = tuple(raw.get("requires_dist", []))
                python = _requires_python(raw.get("requires_python"), filename, notes)
                if python:
                    pythons.add(python)
                url, local = _location(file, lock_dir)
                wheels.append(
                    LockedWheel(
                        filename=wf,
                        sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data),
                        url=url,
                        path=local,
                    )
                )
            common = _most_common(reqs_by_file)
            wheels = [
                replace(w, requires_dist=reqs_by_file[w.filename.filename])
                if reqs_by_file[w.filename.filename] != common
                else w
                for w in wheels
            ]
            plain_markers = {marker_of[t] for t in got.plain_targets}
            variant_only = got.targets - got.plain_targets
            if plain_markers == all_markers or (got.requested and plain_markers != all_markers):
                # a requested package plain consumers cannot install must make them fail
                # (no usable wheel) rather than be skipped silently by the gate below
                marker = None
            else:
                parts = [f"({m})" if m else "" for m in sorted(plain_markers)]
                parts = [p for p in parts if p]
                if variant_only or not parts:
                    parts.append(VARIANT_ONLY_MARKER)
                marker = Marker(" or ".join(parts))
            requires_python = ",".join(sorted(pythons)) or None
            _check_targets_python(name, got, requires_python, targets)
            has_labels = any(w.filename.label is not None for w in wheels)
            index = next(
                (f.index for f, _ in got.files.values() if f.index.startswith(("http:", "https:"))),
                None,
            )
            out.append(
                LockedPackage(
                    name=name,
                    version=got.version,
                    wheels=tuple(wheels),
                    requires_dist=common,
                    variants=got.metadata if has_labels else None,
                    variants_document=_document(client, got) if has_labels else None,
                    marker=marker,
                    index=index,
                    targets=tuple(sorted(got.targets)),
                    requires_python=requires_python,
                )
            )
    return tuple(out)


def _requires_python(value: object, filename: str, notes: list[str]) -> str | None:
    """A wheel's Requires-Python when it is a valid specifier; an invalid one is ignored with a
    note, as pip does ("has an invalid Requires-Python")."""
    if not value:
        return None
    text = str(value)
    why = too_long_number_reason(text)
    if why is None:
        try:
            return str(SpecifierSet(text))
        except InvalidSpecifier as exc:
            why = str(exc)
    notes.append(f"{filename}: its Requires-Python is ignored: {printable(why)}")
    return None


def _check_targets_python(
    name: str, got: _Collected, requires_python: str | None, targets: Sequence[LockTarget]
) -> None:
    """Every target that installs the package must satisfy its wheels' Requires-Python (read
    from their METADATA: a find-links directory has no ``data-requires-python`` to filter on)."""
    if not requires_python:
        return
    spec = SpecifierSet(requires_python)
    for target in targets:
        version = target.marker_env.get("python_full_version")
        if target.name in got.targets and version and not spec.contains(version, prereleases=True):
            raise LockError(
                f"{name} {got.version}: its wheels require Python {requires_python}, target "
                f"'{target.name}' has {version} (pin an older {name} for it, or make one lock "
                "per target)"
            )


def _document(client: IndexClient, got: _Collected) -> dict[str, Any] | None:
    """The published ``*-variants.json`` (PEP 825: inline it, ``$schema`` preserved); None when
    the metadata came from the wheels' own ``variant.json`` files (then written as v0.2.0), or
    when the document holds what TOML cannot (JSON ``null``)."""
    file = got.document_file
    if file is None:
        return None
    doc = parse_json(client.fetch(file.url, dict(file.hashes)), source=file.url)
    if not isinstance(doc, dict) or _has_null(doc):
        return None
    return doc


def _has_null(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def _most_common(reqs: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    counts: dict[tuple[str, ...], int] = {}
    for value in reqs.values():
        counts[value] = counts.get(value, 0) + 1
    return max(sorted(counts), key=lambda v: counts[v]) if counts else ()


def _location(file: IndexFile, lock_dir: Path) -> tuple[str | None, str | None]:
    """(url, path): a local file is written as a path relative to the lock (PEP 751 ``path``)."""
    if file.url.startswith("file:"):
        from urllib.parse import unquote, urlparse

        local = Path(unquote(urlparse(file.url).path))
        try:
            rel = os.path.relpath(local, lock_dir.resolve())
        except ValueError:  # another drive
            return None, str(local)
        return None, Path(rel).as_posix()
    return file.url, None
