"""varwheel as a library: settings → target → plan → execute.

::

    from varwheel.api import Access, Flags, Settings, execute, find_environment
    from varwheel.api import plan_install, target_for

    settings = Settings.load(Flags(find_links=("./wheels",), no_index=True))
    env = find_environment(settings, access=Access.CHANGE)
    with plan_install(["fastsum"], settings, target_for(settings, env), environment=env) as plan:
        for pkg in plan.to_install:
            print(pkg.name, pkg.candidate.label, pkg.candidate.decided_by)
        execute(plan, env)

``Settings`` is the one merge of configuration and flags (``varwheel.settings``); ``Target`` the
machine wheels are chosen for, pure data (``varwheel.target``); ``Environment`` the environment on
disk that is changed (paths, lock, recovery). ``plan_install`` resolves and chooses (every
ranking and rejection reason stays in the plan); ``execute`` downloads, verifies and installs
the plan in one transaction. ``explain``, ``uninstall``, ``installed`` and ``detect`` are the
other commands. Warnings, notes and progress go to a ``Reporter`` (``varwheel.reporter``):
nothing here prints. Distributions come from a ``DistributionSource``
(``varwheel.resolve.source``): the configured indexes and find-links by default, or any other
source (``MemorySource`` in tests). The command line is a thin layer over these functions.

The other areas are modules of this package, imported on first use; every name in their
``__all__`` is also ``varwheel.api.NAME`` (``api.show`` is ``api.environment.show``):

- ``build``: ``build``, ``build_matrix``, ``make_variant``/``unmake_variant``, ``repair``,
  ``plan_matrix`` and its CI formats, ``matrix_coverage``, ``check`` (lint a release or project);
- ``publish``: ``build_index``, ``merge_indexes``, ``plan_publish``, ``find_repository``,
  ``publish``;
- ``environment``: ``show``, ``freeze``, ``check_environment`` (the installed side as data),
  ``target_directory`` (``install --target DIR``);
- ``download``: ``download`` (the files a target would get, hash-checked, into a directory);
- ``projects``: ``local_requirements`` (``install PATH`` / ``-e PATH`` through PEP 517/660);
- ``lock``: ``lock`` (a PEP 751 ``pylock.toml`` for several machines), ``plan_from_lock``,
  ``sync``, ``explain_lock``;
- ``detection``: ``detect_machine`` (per provider, in words; the ``--output`` profile).

``build``, ``publish``, ``download`` and ``lock`` are named like their module, and importing a
submodule binds its name on the package: call them as ``varwheel.api.build.build(...)``.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.codes import (
    EnvironmentSource,
    ExplainStatus,
    FileKind,
    MetadataRoute,
    ReasonCode,
    UploadOutcome,
)
from varwheel.errors import InvalidInput
from varwheel.reporter import Reporter
from varwheel.settings import Flags, Settings
from varwheel.target import CrossTarget, Target

# Layers are imported where used: ``import varwheel.api`` stays cheap for every command.
if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from varwheel.api.build import (
        BuildKind,
        BuildMatrix,
        BuildProgress,
        BuildResult,
        BuiltWheel,
        CheckResult,
        CoverageReport,
        Finding,
        MachineCoverage,
        MatrixBuild,
        MatrixEntry,
        MatrixPlan,
        Outcome,
        RepairResult,
        SettingsPreview,
        Severity,
        build_matrix,
        check,
        cibuildwheel_lines,
        github_matrix,
        make_variant,
        matrix_coverage,
        matrix_json,
        parse_config_settings,
        parse_properties,
        plan_matrix,
        preview_settings,
        repair,
        trusted_pins,
        unmake_variant,
    )
    from varwheel.api.detection import (
        Detection,
        NamespaceSummary,
        Support,
        detect_machine,
        machine_facts,
    )
    from varwheel.api.download import (
        DownloadedFile,
        DownloadResult,
    )
    from varwheel.api.environment import (
        DependencyProblem,
        DistributionDetails,
        FreezeLine,
        ProblemKind,
        ShowResult,
        check_environment,
        freeze,
        show,
        target_directory,
    )
    from varwheel.api.lock import (
        PROTECTED,
        LockExplanation,
        LockInputs,
        LockResult,
        LockSelection,
        SyncChanges,
        SyncResult,
        explain_lock,
        lock_inputs,
        lock_path_of,
        plan_from_lock,
        read_lock_file,
        sync,
        sync_changes,
    )
    from varwheel.api.projects import (
        is_local_project,
        local_requirements,
    )
    from varwheel.api.publish import (
        PublishOptions,
        build_index,
        find_repository,
        merge_indexes,
        plan_publish,
        with_typed_credentials,
    )
    from varwheel.config import Config  # noqa: F401 (types for cli/)
    from varwheel.index.client import IndexClient  # noqa: F401
    from varwheel.index.models import IndexFile
    from varwheel.inspect import Inspection
    from varwheel.install.environment import TargetEnvironment
    from varwheel.install.installed import InstalledDistribution
    from varwheel.install.transaction import InstallResult as TransactionResult
    from varwheel.install.transaction import UninstallResult
    from varwheel.providers.cache import CacheInfo
    from varwheel.providers.detect import NamespaceResult, ProviderOptions
    from varwheel.resolve.explain import PackageExplanation
    from varwheel.resolve.requirements_file import RequirementsFile
    from varwheel.resolve.resolver import Resolution, ResolvedPackage, Session
    from varwheel.resolve.source import DistributionSource
    from varwheel.spec.selection import Preferences  # noqa: F401

__all__ = [
    "PROTECTED",
    "Access",
    "BuildKind",
    "BuildMatrix",
    "BuildProgress",
    "BuildResult",
    "BuiltWheel",
    "CheckResult",
    "CoverageReport",
    "CrossTarget",
    "DependencyProblem",
    "Detection",
    "DistributionDetails",
    "DownloadResult",
    "DownloadedFile",
    "Environment",
    "EnvironmentSource",
    "ExplainStatus",
    "Explanation",
    "FileKind",
    "Finding",
    "Flags",
    "FreezeLine",
    "InstallPlan",
    "InstallResult",
    "InstalledDistribution",
    "LockExplanation",
    "LockInputs",
    "LockResult",
    "LockSelection",
    "MachineCoverage",
    "MatrixBuild",
    "MatrixEntry",
    "MatrixPlan",
    "MetadataRoute",
    "NamespaceSummary",
    "Outcome",
    "ProblemKind",
    "PublishOptions",
    "ReasonCode",
    "RepairResult",
    "Reporter",
    "Requirements",
    "Settings",
    "SettingsPreview",
    "Severity",
    "ShowResult",
    "Support",
    "SyncChanges",
    "SyncResult",
    "Target",
    "UploadOutcome",
    "build",
    "build_index",
    "build_matrix",
    "cache_info",
    "check",
    "check_environment",
    "cibuildwheel_lines",
    "clear_cache",
    "default_label",
    "detect",
    "detect_machine",
    "detection",
    "download",
    "environment",
    "execute",
    "explain",
    "explain_lock",
    "find_environment",
    "find_repository",
    "freeze",
    "github_matrix",
    "inspect",
    "inspection_json",
    "installed",
    "is_local_project",
    "local_requirements",
    "lock",
    "lock_inputs",
    "lock_path_of",
    "machine_facts",
    "make_variant",
    "matrix_coverage",
    "matrix_json",
    "merge_indexes",
    "parse_config_settings",
    "parse_properties",
    "plan_from_lock",
    "plan_install",
    "plan_matrix",
    "plan_publish",
    "preview_settings",
    "projects",
    "provider_options",
    "publish",
    "read_lock_file",
    "read_requirements",
    "removal_preview",
    "repair",
    "requirement_names",
    "show",
    "sync",
    "sync_changes",
    "target_directory",
    "target_for",
    "trusted_pins",
    "uninstall",
    "unmake_variant",
    "with_typed_credentials",
]

if TYPE_CHECKING:
    Environment = TargetEnvironment


# The areas' modules and what each re-exports here, imported on first use (``import
# varwheel.api`` stays cheap): ``varwheel.api.NAME`` is ``varwheel.api.<area>.NAME``.
# tests/api/test_surface.py keeps this table equal to the areas' ``__all__``.
_AREAS: dict[str, tuple[str, ...]] = {
    "build": (
        "BuildKind", "BuildMatrix", "BuildProgress", "BuildResult", "BuiltWheel", "CheckResult",
        "CoverageReport", "Finding", "MachineCoverage", "MatrixBuild", "MatrixEntry", "MatrixPlan",
        "Outcome", "RepairResult", "SettingsPreview", "Severity", "build_matrix", "check",
        "cibuildwheel_lines", "github_matrix", "make_variant", "matrix_coverage", "matrix_json",
        "parse_config_settings", "parse_properties", "plan_matrix", "preview_settings", "repair",
        "trusted_pins", "unmake_variant",
    ),
    "publish": (
        "PublishOptions", "build_index", "find_repository", "merge_indexes", "plan_publish",
        "with_typed_credentials",
    ),
    "environment": (
        "DependencyProblem", "DistributionDetails", "FreezeLine", "ProblemKind", "ShowResult",
        "check_environment", "freeze", "show", "target_directory",
    ),
    "download": ("DownloadResult", "DownloadedFile"),
    "projects": ("is_local_project", "local_requirements"),
    "lock": (
        "PROTECTED", "LockExplanation", "LockInputs", "LockResult", "LockSelection", "SyncChanges",
        "SyncResult", "explain_lock", "lock_inputs", "lock_path_of", "plan_from_lock",
        "read_lock_file", "sync", "sync_changes",
    ),
    "detection": ("Detection", "NamespaceSummary", "Support", "detect_machine", "machine_facts"),
}  # fmt: skip
_AREA_OF = {name: area for area, names in _AREAS.items() for name in names}


def __getattr__(name: str) -> Any:
    # ``Environment``: the environment on disk that ``execute``/``uninstall`` change
    # (``install.environment.TargetEnvironment``: interpreter, scheme paths), imported on use.
    if name == "Environment":
        from varwheel.install.environment import TargetEnvironment

        return TargetEnvironment
    # what ``installed`` returns: the one installed-distribution model
    if name == "InstalledDistribution":
        from varwheel.install.installed import InstalledDistribution

        return InstalledDistribution
    import importlib

    if name in _AREAS:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _AREA_OF:
        value = getattr(importlib.import_module(f"{__name__}.{_AREA_OF[name]}"), name)
        globals()[name] = value  # found once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _canonical(name: str) -> NormalizedName:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


# -- requirements ------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirements:
    """Requirements parsed once: command-line texts and ``-r`` files (their index options and
    ``-c`` constraints in ``options``, which ``Settings.load`` merges), and the wheels named
    directly (a path or ``name @ URL``: that file is the project's only candidate)."""

    requirements: tuple[Requirement, ...]
    direct: Mapping[NormalizedName, IndexFile] = field(default_factory=dict)
    options: RequirementsFile | None = None
    # PEP 610 documents of projects built from a local directory (``api.projects``): recorded
    # instead of the temporary wheel's URL, so the installed project points at its directory
    origins: Mapping[NormalizedName, Mapping[str, Any]] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)


def read_requirements(
    texts: Iterable[str] = (),
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    constraint_files: Iterable[str | os.PathLike[str]] = (),
    required: bool = True,
) -> Requirements:
    """Parse requirement texts (``name[extras] specifier ; marker``, a wheel path, ``name @
    URL``) and pip-style requirements files. ``required``: none at all is an ``InvalidInput``."""
    from varwheel.resolve.requirements_file import (
        RequirementsFile,
        direct_wheel,
        parse_requirements_file,
        requirement_or_wheel,
    )

    texts = list(texts)
    reqs = [requirement_or_wheel(text) for text in texts]
    options = RequirementsFile()
    for file in files:
        options += parse_requirements_file(Path(file))
    for file in constraint_files:
        options += parse_requirements_file(Path(file), constraint=True)
    reqs += options.requirements
    if required and not reqs:
        raise InvalidInput("no requirements given (name some, or use -r FILE)")
    direct: dict[NormalizedName, IndexFile] = {}
    for text in (*texts, *options.direct):
        found = direct_wheel(text)  # cached: requirement_or_wheel parsed it already
        if found is not None:
            direct[_canonical(found[0].name)] = found[1]
    return Requirements(tuple(reqs), direct, options)


def _as_requirements(requirements: Requirements | Iterable[str | Requirement]) -> Requirements:
    if isinstance(requirements, Requirements):
        return requirements
    items = list(requirements)
    texts = [r for r in items if isinstance(r, str)]
    parsed = read_requirements(texts, required=False)
    from packaging.requirements import Requirement

    given = tuple(r for r in items if isinstance(r, Requirement))
    return Requirements(parsed.requirements + given, parsed.direct, parsed.options)


def requirement_names(
    texts: Iterable[str] = (), *, files: Iterable[str | os.PathLike[str]] = ()
) -> list[str]:
    """Project names, as pip's uninstall reads them: ``NAME==1.0`` or ``NAME[extra]`` name
    the project ``NAME``; ``-r`` files too."""
    from varwheel.resolve.requirement import parse_requirement
    from varwheel.resolve.requirements_file import read_requirements_file

    reqs = [parse_requirement(text) for text in texts]
    for file in files:
        reqs += read_requirements_file(Path(file))
    if not reqs:
        raise InvalidInput("no distributions named (name some, or use -r FILE)")
    return [r.name for r in reqs]


# -- environment and target --------------------------------------------------------------


class Access(enum.Enum):
    """What a command does to the environment it looks for.

    ``CHANGE`` (install, dry runs too, uninstall): ``--python``, ``$VIRTUAL_ENV``, ``./.venv``;
    PEP 668 refusal; an interrupted transaction settled first. ``READ`` (list): the same places,
    recovery, no refusal. ``INSPECT`` (explain): ``--python`` or ``$VIRTUAL_ENV``, else the
    running interpreter: a ``./.venv`` (a cloned project may commit one) is never run."""

    CHANGE = "change"
    READ = "read"
    INSPECT = "inspect"


def find_environment(
    settings: Settings, *, access: Access = Access.CHANGE, reporter: Reporter | None = None
) -> Environment:
    """The environment ``settings.python`` (or the environment variables) name, found as
    ``access`` says; ``reporter.environment`` hears which one (CHANGE, READ) before a recovered
    transaction's note."""
    from varwheel.install.environment import (
        current_environment,
        find_target_environment,
        refuse_externally_managed,
    )
    from varwheel.install.transaction import recover_if_needed

    reporter = reporter if reporter is not None else Reporter()
    if access is Access.INSPECT:
        if settings.python or os.environ.get("VIRTUAL_ENV"):
            return find_target_environment(settings.python, project_venv=False)
        return current_environment()
    env = find_target_environment(settings.python)
    if access is Access.CHANGE:
        refuse_externally_managed(env, allow=settings.break_system_packages)
    reporter.environment(env)
    note = recover_if_needed(env)
    if note:
        reporter.note(note)
    return env


def target_for(settings: Settings, environment: Environment | None = None) -> Target:
    """The target of ``environment``'s interpreter (default: the running one), with the
    settings' cross-target options (another machine) and profile (variant support read from
    it) applied."""
    base = Target.current() if environment is None else Target.from_environment(environment)
    return base.with_overrides(settings.cross).with_profile(settings.profile)


# -- planning ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallPlan:
    """A resolution for one target: per package the chosen wheel (``candidate``: label,
    ``decided_by``), the version's full ranking and every rejection reason (``choice.selection``)
    and the route its variant metadata came from. Holds the source and wheels built from sdists
    until closed (``with plan: ...``)."""

    requirements: Requirements
    settings: Settings
    target: Target
    resolution: Resolution
    ignored: tuple[Requirement, ...]
    installed: Mapping[NormalizedName, Any] = field(compare=False)
    session: Session = field(compare=False, repr=False)
    source: DistributionSource = field(compare=False, repr=False)
    reporter: Reporter = field(compare=False, repr=False)
    _own_source: bool = field(default=False, compare=False, repr=False)
    # ``installed`` is the whole target environment as scanned for this plan (else: empty)
    _scanned: bool = field(default=False, compare=False, repr=False)

    @property
    def packages(self) -> tuple[ResolvedPackage, ...]:
        return self.resolution.packages

    @property
    def to_install(self) -> list[ResolvedPackage]:
        """The packages ``execute`` installs (not those kept as installed)."""
        return [p for p in self.resolution.packages if not p.candidate.installed]

    def package(self, name: str) -> ResolvedPackage:
        found = self.resolution.by_name().get(_canonical(name))
        if found is None:
            raise KeyError(name)
        return found

    def report(self) -> dict[str, Any]:
        """pip's installation report (version "1") with each item's ``variant``, and
        ``warnings``: what the reporter heard so far (configuration, providers, resolution),
        with the source's warnings not reported yet (they reach the reporter on ``close``)."""
        from varwheel.resolve.report import build_report

        doc = build_report(
            self.resolution,
            marker_env=self.target.marker_env,
            metadata_of=self.session.metadata,
        )
        heard = self.reporter.warnings
        doc["warnings"] = [*heard, *(w for w in self.source.warnings if w not in heard)]
        return doc

    def close(self) -> None:
        """Stop background fetching, remove wheels built from sdists, report the source's
        warnings (once each)."""
        try:
            self.session.close()
        finally:
            _flush_source(self.source, self.reporter)
            if self._own_source:
                self.source.close()

    def __enter__(self) -> InstallPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _flush_source(source: DistributionSource, reporter: Reporter) -> None:
    for line in source.warnings:
        reporter.warning(line)


def _config_warnings(settings: Settings, reporter: Reporter) -> None:
    """What reading the configuration found (a project key that may not run code, ...); the
    lines quote file contents, so terminal control characters are escaped."""
    for line in settings.warnings:
        reporter.warning("".join(c if c.isprintable() else ascii(c)[1:-1] for c in line))


def provider_options(
    settings: Settings, target: Target, *, reporter: Reporter | None = None
) -> ProviderOptions:
    """How providers run for ``target``: trusted plugins are installed for (and answer about)
    its interpreter, none for another machine; its profile, if any, replaces detection."""
    from dataclasses import replace

    options = settings.provider_options(
        target_python=None if target.interpreter is None else str(target.interpreter),
        on_warning=None if reporter is None else reporter.warning,
    )
    if target.profile is not None:
        options = replace(options, profile=target.profile)
    elif reporter is not None and target.is_cross:  # another CPU: providers probe this one
        from varwheel.providers.summary import undescribed_target_warning

        if (line := undescribed_target_warning(target.marker_env)) is not None:
            reporter.warning(line)
    return options


def _session(
    reqs: Requirements,
    settings: Settings,
    target: Target,
    *,
    environment: Environment | None,
    keep_installed: bool,
    source: DistributionSource | None,
    reporter: Reporter,
    scanned: Mapping[NormalizedName, InstalledDistribution] | None = None,
) -> tuple[Session, DistributionSource, bool, Mapping[NormalizedName, Any]]:
    from varwheel.install.installed import installed_distributions, installed_from_env
    from varwheel.resolve.resolver import Session
    from varwheel.resolve.source import IndexSource

    _config_warnings(settings, reporter)
    own = source is None
    src: DistributionSource = IndexSource(settings.index_client()) if source is None else source
    # abi_dependency reads the target's distributions; another machine's are unknown
    local = environment is not None and not target.is_cross
    # one scan of the environment: every version (abi_dependency) and the resolver's view
    if local and scanned is None:
        scanned = installed_distributions(environment)  # type: ignore[arg-type]
    dists = scanned if local else None
    versions = None if dists is None else {n: d.version for n, d in dists.items()}
    kept = installed_from_env(environment, dists) if local and keep_installed else {}  # type: ignore[arg-type]
    marker_env = target.marker_env

    # providers (and their modules) only once a version with variant wheels is considered;
    # another machine's target is described at once (its warnings)
    options: list[ProviderOptions] = []
    if target.is_cross:
        options.append(provider_options(settings, target, reporter=reporter))

    def support_with(adding: Mapping[str, str] | None) -> Any:
        from varwheel.providers.support import support_function

        if not options:
            options.append(provider_options(settings, target, reporter=reporter))
        return support_function(options[0], marker_env, versions, adding=adding)

    def support_adding(adding: Mapping[str, str]) -> Any:
        return support_with(adding)

    support: list[Any] = []

    def support_for(md: Any) -> Any:
        if not support:
            support.append(support_with(None))
        return support[0](md)

    requested = [_canonical(r.name) for r in reqs.requirements]
    hashes = settings.required_hashes()
    if hashes or settings.require_hashes:  # sdists are hashed before they are built
        from varwheel.resolve.hashes import HashCheckingSource

        resolving: Any = HashCheckingSource(src, hashes)
    else:
        resolving = src
    session = Session(
        resolving,
        tags=target.tags,
        marker_env=marker_env,
        support_for=support_for,
        options=settings.resolve_options(requested, marker_env),
        installed=kept,
        direct=dict(reqs.direct),
        support_adding=support_adding,
    )
    return session, src, own, kept


def plan_install(
    requirements: Requirements | Iterable[str | Requirement],
    settings: Settings,
    target: Target,
    *,
    environment: Environment | None = None,
    source: DistributionSource | None = None,
    reporter: Reporter | None = None,
) -> InstallPlan:
    """Resolve ``requirements`` for ``target``. With ``environment`` (the target's own), its
    installed distributions that satisfy a requirement are kept (pip semantics; never for a
    cross target). ``source``: where distributions come from (default: the settings' indexes
    and find-links). Raises ``ResolutionError`` with the one-line reason."""
    reporter = reporter if reporter is not None else Reporter()
    reqs = _as_requirements(requirements)
    if settings.require_hashes:  # pip: pinned with == here, --hash values checked by execute
        from varwheel.resolve.requirements_file import check_pinned

        check_pinned(reqs.requirements)
    scanned = None
    if environment is not None:
        # a no-op install: everything already satisfied, answered from the environment alone
        # (no index client, providers or resolver), exactly as the resolver would keep it
        from varwheel.install.installed import installed_distributions
        from varwheel.resolve.satisfied import DeferredSource, already_satisfied

        # the plan's one scan of the environment, for this check and the resolver's view
        scanned = None if target.is_cross else installed_distributions(environment)
        done = already_satisfied(
            reqs.requirements, settings, target, environment, direct=reqs.direct, dists=scanned
        )
        if done is not None:
            from varwheel.resolve.requirement import ignored_by_markers

            _config_warnings(settings, reporter)
            given = source is not None
            return InstallPlan(
                requirements=reqs,
                settings=settings,
                target=target,
                resolution=done.resolution,
                ignored=tuple(ignored_by_markers(list(reqs.requirements), target.marker_env)),
                installed=done.installed,
                session=done.session,  # type: ignore[arg-type]
                source=source if given else DeferredSource(settings),  # type: ignore[arg-type]
                reporter=reporter,
                _own_source=not given,
                _scanned=True,
            )
    session, src, own, kept = _session(
        reqs,
        settings,
        target,
        environment=environment,
        keep_installed=True,
        source=source,
        reporter=reporter,
        scanned=scanned,
    )
    try:
        resolution = session.resolve(reqs.requirements)
    except BaseException:
        try:
            session.close()
        finally:
            _flush_source(src, reporter)
            if own:
                src.close()
        raise
    from varwheel.resolve.options import request_warnings

    for line in (
        *resolution.warnings(),
        *request_warnings(session.options, resolution.packages, session.finder.choices()),
    ):
        reporter.warning(line)
    from varwheel.resolve.requirement import ignored_by_markers

    return InstallPlan(
        requirements=reqs,
        settings=settings,
        target=target,
        resolution=resolution,
        ignored=tuple(ignored_by_markers(list(reqs.requirements), target.marker_env)),
        installed=kept,
        session=session,
        source=src,
        reporter=reporter,
        _own_source=own,
        _scanned=environment is not None and not target.is_cross,
    )


# -- executing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallResult:
    """What ``execute`` did: the packages installed (``ResolvedPackage``), the transaction's
    own result (replaced versions, recovered journal) and the dependency problems left."""

    installed: tuple[ResolvedPackage, ...]
    transaction: TransactionResult | None
    problems: tuple[str, ...] = ()


def execute(
    plan: InstallPlan, environment: Environment, *, reporter: Reporter | None = None
) -> InstallResult:
    """Download (or build) every wheel of ``plan.to_install``, check ``--hash`` values, validate
    each wheel once (streamed into the unpacked-wheel cache; a cached wheel is not reopened) and
    check that it is what the plan read (its ``variant.json`` and METADATA), then install all of
    them in one transaction (installed distributions of the same projects are replaced).
    Afterwards, pip's check on the touched distributions is in ``problems``."""
    import tempfile

    from varwheel.install.check import dependency_problems
    from varwheel.install.installed import installed_from_env
    from varwheel.install.transaction import install_wheels
    from varwheel.install.unpacked import default_unpacked_cache, prepare_wheels
    from varwheel.install.verify import verify_prepared
    from varwheel.resolve.hashes import check_hashes, check_hashes_given
    from varwheel.resolve.report import direct_url_documents

    reporter = reporter if reporter is not None else plan.reporter
    todo = plan.to_install
    if not todo:
        return InstallResult((), None)
    if (elsewhere := plan.target.not_installable_reason()) is not None:
        raise InvalidInput(elsewhere)  # a plan for another machine (cross options, its profile)
    hashes = plan.settings.required_hashes()
    # ignore_cleanup_errors: after Ctrl-C a download thread may still be writing there
    with tempfile.TemporaryDirectory(prefix="varwheel-install-", ignore_cleanup_errors=True) as tmp:
        if hashes or plan.settings.require_hashes:
            check_hashes_given(todo, hashes)
        paths = _fetch_wheels(plan, todo, Path(tmp), reporter)
        if hashes or plan.settings.require_hashes:
            check_hashes(todo, paths, hashes)
        # each archive is opened once: validated and unpacked into the unpacked-wheel cache
        # (a wheel already there is not opened at all); verification and installation both
        # read that one validation
        prepared = prepare_wheels(paths, default_unpacked_cache())
        # each wheel declares what chose it (PEP 825 variant.json, PEP 658 METADATA); sdists
        # built here are non-variant by construction (PEP 817 §8.3)
        for pkg, wheel in zip(todo, prepared, strict=True):
            if pkg.candidate.is_sdist:
                continue
            md = pkg.choice.metadata if pkg.choice is not None else None
            for line in verify_prepared(wheel, pkg.candidate, md, pkg.metadata):
                reporter.warning(line)
        txn = install_wheels(
            environment,
            prepared,
            requested={p.name for p in todo if p.requested},
            direct_urls={**direct_url_documents(todo, paths), **plan.requirements.origins},
            compile_bytecode=plan.settings.compile_bytecode,
            link_mode=plan.settings.link_mode,
            forced_variants={p.name: p.candidate.forced_reason for p in todo if p.candidate.forced},
        )
    touched = {p.name for p in todo}
    after = _installed_after(plan, todo, txn)
    if after is None:
        after = installed_from_env(environment)
    problems = tuple(dependency_problems(after, environment.marker_env, touched=touched))
    return InstallResult(tuple(todo), txn, problems)


def _installed_after(
    plan: InstallPlan, todo: Sequence[ResolvedPackage], txn: TransactionResult
) -> dict[NormalizedName, Any] | None:
    """The environment after ``txn`` from the plan's scan and the ``*.dist-info`` of what was
    installed, without scanning it again; None when that is not known (no scan in the plan, a
    recovered journal)."""
    from varwheel.install.installed import read_distribution

    if not plan._scanned or txn.recovered:
        return None
    after = dict(plan.installed)
    for name, _version in txn.removed:
        after.pop(name, None)
    for wheel in txn.installed:
        dist = None if wheel.dist_info is None else read_distribution(wheel.dist_info)
        if dist is None:
            return None
        after.pop(wheel.name, None)
        if dist.parsed_version is not None:  # as installed_from_env: comparable versions only
            after[dist.name] = dist
    return after


def _fetch_wheels(
    plan: InstallPlan, todo: Sequence[ResolvedPackage], dest: Path, reporter: Reporter
) -> list[Path]:
    wheel_pkgs = [p for p in todo if not p.candidate.is_sdist]
    files = [p.candidate.file for p in wheel_pkgs if p.candidate.file is not None]
    with reporter.downloads(len(files)) as progress:
        downloaded = plan.source.download_many(files, dest, progress)
    by_name = {f.filename: path for f, path in zip(files, downloaded, strict=True)}
    out: list[Path] = []
    for pkg in todo:
        cand = pkg.candidate
        if cand.is_sdist:
            out.append(pkg.built_wheel or plan.session.built_wheel(cand))
        else:
            out.append(by_name[cand.filename])
    return out


# -- explain -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """``explain``'s answer: per requirement the version that would be chosen, every wheel's
    verdict (``ExplainStatus``, rank, ``decided_by``, ``ReasonCode``), the metadata route, the
    target's support."""

    packages: tuple[PackageExplanation, ...]
    target: Target
    # what the reporter heard while explaining (configuration, providers, the source)
    warnings: tuple[str, ...] = ()

    @property
    def all_chosen(self) -> bool:
        return all(p.chosen for p in self.packages)

    def to_json(self) -> dict[str, Any]:
        """The stable ``explain --json`` document (without ``target_environment``);
        ``warnings`` lists what was also printed as ``varwheel: warning: ...``."""
        from varwheel.resolve.explain import to_json

        return {
            "packages": [to_json(p) for p in self.packages],
            "environment": dict(self.target.marker_env),
            "warnings": list(self.warnings),
        }


def explain(
    requirements: Requirements | Iterable[str | Requirement],
    settings: Settings,
    target: Target,
    *,
    environment: Environment | None = None,
    dependencies: bool = False,
    source: DistributionSource | None = None,
    reporter: Reporter | None = None,
) -> Explanation:
    """Each requirement alone: the version pip-style ordering picks and why each of its wheels
    is ranked or rejected. ``environment``'s distributions feed ``abi_dependency`` only;
    ``dependencies``: also read the chosen wheel's metadata and list what applies."""
    from varwheel.resolve.explain import explain_requirement

    reporter = reporter if reporter is not None else Reporter()
    reqs = _as_requirements(requirements)
    session, src, own, _kept = _session(
        reqs,
        settings,
        target,
        environment=environment,
        keep_installed=False,
        source=source,
        reporter=reporter,
    )
    try:
        session.prefetch_pages(list(reqs.requirements))
        deps = session.dependencies_of if dependencies else None
        results = tuple(
            explain_requirement(r, session.finder, dependencies_of=deps) for r in reqs.requirements
        )
    finally:
        try:
            session.close()
        finally:
            _flush_source(src, reporter)
            if own:
                src.close()
    return Explanation(results, target, reporter.warnings)


# -- the installed side ------------------------------------------------------------------


def installed(environment: Environment) -> list[InstalledDistribution]:
    """The distributions installed in ``environment``, sorted by canonical name (variant label
    and properties of each; ``.egg-info`` ones too)."""
    from varwheel.install.installed import installed_distributions

    return sorted(installed_distributions(environment).values(), key=lambda d: d.name)


def removal_preview(
    names: Collection[str], environment: Environment
) -> list[tuple[InstalledDistribution, int]]:
    """What ``uninstall(names)`` would remove: each installed distribution named and its
    number of RECORD files (missing names are left out)."""
    from varwheel.install.installed import installed_distributions, read_record

    current = installed_distributions(environment)
    wanted = dict.fromkeys(_canonical(n) for n in names)
    return [(current[n], len(read_record(current[n]))) for n in wanted if n in current]


def uninstall(
    names: Collection[str], environment: Environment, *, reporter: Reporter | None = None
) -> UninstallResult:
    """Remove the named distributions in one transaction (all or none). Names not installed
    and what the remaining distributions still require of the removed ones are warnings."""
    from varwheel.install.check import dependency_problems
    from varwheel.install.installed import installed_from_env
    from varwheel.install.transaction import uninstall as remove

    reporter = reporter if reporter is not None else Reporter()
    result = remove(environment, list(names))
    for name in result.missing:
        reporter.warning(f"{name} is not installed in {environment.prefix}")
    for path, why in result.kept:
        reporter.note(f"kept {path} ({why})")
    if result.removed:
        removed = {name for name, _ in result.removed}
        for line in dependency_problems(
            installed_from_env(environment), environment.marker_env, touched=removed
        ):
            reporter.warning(line)
    return result


def detect(
    settings: Settings,
    namespaces: Sequence[str] | None = None,
    *,
    reporter: Reporter | None = None,
) -> tuple[NamespaceResult, ...]:
    """What this machine supports, per native provider (or per the settings' profile)."""
    from varwheel.providers.detect import ProviderSession

    reporter = reporter if reporter is not None else Reporter()
    _config_warnings(settings, reporter)
    options = settings.provider_options(on_warning=reporter.warning)
    return ProviderSession(options).detect_native(namespaces)


# -- files and caches --------------------------------------------------------------------


def inspect(path: str | os.PathLike[str]) -> Inspection:
    """Validate and read the variant metadata of a wheel, ``variant.json``, ``*-variants.json``
    or ``pyproject.toml`` (any schema generation); ``InvalidInput`` subclasses name the file."""
    from varwheel.inspect import inspect_path

    return inspect_path(path)


def inspection_json(inspection: Inspection) -> dict[str, Any]:
    """The stable ``inspect --json`` object (``kind`` is a ``FileKind`` value)."""
    from varwheel.inspect import inspection_to_json

    return inspection_to_json(inspection)


def default_label(properties: Iterable[str]) -> str:
    """The default label of a property set (``ns :: feature :: value`` texts): the first 8 hex
    digits of sha256 over the sorted lines, as variantlib computes it; ``null`` for none."""
    from varwheel.errors import InvalidProperty
    from varwheel.spec.properties import VariantProperty
    from varwheel.spec.properties import default_label as _label

    parsed = []
    for text in properties:
        try:
            parsed.append(VariantProperty.parse(text))
        except InvalidProperty as err:
            raise InvalidProperty(f"-p {text!r}: {err}") from None
    return _label(parsed)


def cache_info() -> CacheInfo:
    """Where varwheel's cache is (``$VARWHEEL_CACHE_DIR`` or the platform cache dir), its
    provider answers, plugin venvs and size."""
    from varwheel.providers.cache import cache_info as _info
    from varwheel.providers.cache import cache_root

    return _info(cache_root())


def clear_cache() -> CacheInfo:
    """Empty the cache (only a directory marked as varwheel's); returns what was removed."""
    from varwheel.providers.cache import cache_root
    from varwheel.providers.cache import clear_cache as _clear

    return _clear(cache_root())
