"""Lock files as a library: a PEP 751 ``pylock.toml`` that keeps the variant choice (PEP 825)
for install time, made for several target machines at once (docs/lock.md).

::

    from varwheel.api import Settings, find_environment, target_for
    from varwheel.api.lock import lock_inputs, lock, plan_from_lock, sync_changes, sync

    inputs = lock_inputs(Path("pylock.toml"), ["torch"], profiles=[Path("gpu.toml")])
    result = lock(inputs, Settings.load(inputs.flags, requirements=inputs.requirements.options))
    # later, on the machine
    settings = Settings.load()
    env = find_environment(settings)
    chosen = plan_from_lock(Path("pylock.toml"), settings, target_for(settings, env), environment=env)
    sync(chosen, sync_changes(chosen, env, exact=True), env)

``lock`` resolves for every target and every variant it may pick; ``plan_from_lock`` chooses
each locked package's wheel on one target (no resolution, no index); ``sync`` fetches the
chosen files, checks each against the lock (size, sha256, its own ``variant.json`` and
METADATA) before anything is installed, installs them in one transaction and, for an exact
sync, removes what the lock does not select. ``explain_lock`` says why. Nothing here prints:
warnings and notes go to a ``Reporter``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.errors import InvalidInput
from varwheel.reporter import Reporter
from varwheel.settings import Flags, Settings
from varwheel.target import CrossTarget, Target

if TYPE_CHECKING:
    from packaging.utils import NormalizedName

    from varwheel.api import Environment, Requirements
    from varwheel.lock.model import LockFile
    from varwheel.lock.select import LockPlan, Planned
    from varwheel.lock.targets import LockTarget

__all__ = [
    "PROTECTED",
    "LockExplanation",
    "LockInputs",
    "LockResult",
    "LockSelection",
    "SyncChanges",
    "SyncResult",
    "explain_lock",
    "lock",
    "lock_inputs",
    "lock_path_of",
    "plan_from_lock",
    "read_lock_file",
    "sync",
    "sync_changes",
]


def __getattr__(name: str) -> Any:
    # the lock's errors (``varwheel.lock``), imported on use: ``import varwheel.api.lock`` stays
    # cheap for building the command line's parser
    if name in ("InvalidLock", "LockMismatch"):
        from varwheel.lock import model

        return getattr(model, name)
    if name == "NoLockedWheel":
        from varwheel.lock.select import NoLockedWheel

        return NoLockedWheel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Never removed by an exact sync, nor what they need: the tools that manage the environment
# (uv's sync keeps its seed packages only when asked; removing the installer that runs would
# break the environment).
PROTECTED = frozenset({"pip", "varwheel", "setuptools", "wheel"})


# -- locking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockInputs:
    """What a lock is made from: the requirements (parsed once), the flags with the inputs an
    existing lock recorded filled in (``lock --check`` and re-locking without requirements),
    the target profiles and Python versions."""

    output: Path
    requirements: Requirements
    flags: Flags
    profiles: tuple[Path, ...] = ()
    python_versions: tuple[str, ...] = ()
    existing: LockFile | None = field(default=None, compare=False, repr=False)


def lock_inputs(
    output: str | os.PathLike[str],
    requirements: Iterable[str] = (),
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    flags: Flags | None = None,
    profiles: Iterable[str | os.PathLike[str]] = (),
    python_versions: Iterable[str] = (),
) -> LockInputs:
    """The inputs of a lock at ``output`` (``pylock.toml`` or ``pylock.<name>.toml``, PEP 751).
    Without requirements, an existing lock's recorded requirements, index options, Python
    versions, platforms and profiles are used where no flag gives them. ``InvalidInput`` for a
    bad name or an unreadable lock."""
    from varwheel.api import read_requirements
    from varwheel.lock.read import is_lock_path, read_lock
    from varwheel.lock.targets import recorded_path

    path = Path(output)
    if not is_lock_path(path):
        raise InvalidInput(f"-o {path}: PEP 751 names a lock pylock.toml or pylock.<name>.toml")
    lock_dir = path.resolve().parent
    existing = read_lock(path) if path.exists() else None
    f = flags if flags is not None else Flags()
    texts, files = list(requirements), list(files)
    paths = tuple(Path(p) for p in profiles)
    versions = tuple(python_versions)
    if not texts and not files and existing is not None:
        # re-lock (or check) from the inputs the lock recorded; flags given win
        texts = list(existing.requirements)
        recorded = existing.inputs
        index_url = f.index_url
        if not index_url and isinstance(recorded.get("index-url"), str):
            index_url = str(recorded["index-url"])
        links = f.find_links
        if not links and isinstance(recorded.get("find-links"), list):
            links = tuple(_recorded_link(str(x), lock_dir) for x in recorded["find-links"])  # type: ignore[union-attr]
        platforms = f.cross.platforms
        if not platforms and isinstance(recorded.get("platforms"), list):
            platforms = tuple(str(x) for x in recorded["platforms"])  # type: ignore[union-attr]
        if not versions and isinstance(recorded.get("python-versions"), list):
            versions = tuple(str(x) for x in recorded["python-versions"])  # type: ignore[union-attr]
        f = replace(
            f,
            index_url=index_url,
            find_links=links,
            no_index=f.no_index or bool(recorded.get("no-index")),
            cross=replace(f.cross, platforms=platforms),
        )
        if not paths:
            paths = tuple(
                dict.fromkeys(
                    recorded_path(t.profile, lock_dir) for t in existing.targets if t.profile
                )
            )
    reqs = read_requirements(texts, files=files)
    return LockInputs(path, reqs, f, paths, versions, existing)


@dataclass(frozen=True)
class LockResult:
    """What ``lock`` made: the lock, its exact text, the targets it was made for. With
    ``check``, nothing was written and ``up_to_date`` says whether the file at ``output`` has
    these bytes; otherwise ``written`` is True."""

    output: Path
    lock: LockFile
    text: str
    targets: tuple[LockTarget, ...]
    written: bool = False
    up_to_date: bool | None = None
    existed: bool = False

    @property
    def variant_packages(self) -> int:
        """How many locked packages have variants."""
        return sum(1 for p in self.lock.packages if p.variants is not None)


def lock(
    inputs: LockInputs,
    settings: Settings,
    *,
    check: bool = False,
    upgrade: bool = False,
    upgrade_packages: Iterable[str] = (),
    reporter: Reporter | None = None,
) -> LockResult:
    """Resolve ``inputs`` for every target (each profile, or this machine; one per Python
    version) and every variant a target supports, and write the lock atomically (``check``:
    compare with the file instead). Versions already locked are kept unless ``upgrade`` or
    named in ``upgrade_packages``. ``--prefer/--forbid/--variant`` act at install time, not
    here. Raises ``ResolutionError`` (a target cannot be satisfied), ``InvalidInput``."""
    from packaging.utils import canonicalize_name

    from varwheel.api import Access, find_environment
    from varwheel.fsutil import atomic_write
    from varwheel.lock.create import make_lock
    from varwheel.lock.model import LockTargetInfo
    from varwheel.lock.read import parse_lock
    from varwheel.lock.targets import shown_profile_path, targets_from_profiles
    from varwheel.lock.write import dumps
    from varwheel.providers.support import support_function
    from varwheel.resolve.options import ResolveOptions

    reporter = reporter if reporter is not None else Reporter()
    output = inputs.output
    lock_dir = output.resolve().parent
    _config_warnings(settings, reporter)
    env = find_environment(settings, access=Access.INSPECT, reporter=reporter)
    local = Target.from_environment(env).with_overrides(
        replace(settings.cross, python_version=None)
    )
    versions: list[str | None] = list(inputs.python_versions) or [None]
    pythons = [
        local.with_overrides(CrossTarget(python_version=v)) if v else local for v in versions
    ]
    targets = targets_from_profiles(list(inputs.profiles), pythons)
    for target in targets:
        if target.profile is None:
            _say_undescribed(Target.from_tags(target.tags, target.marker_env), reporter)
    provider_options = settings.provider_options(on_warning=reporter.warning)
    # every variant a target supports is locked; --prefer/--forbid/--variant act at install time
    # A lock lists wheels only, so locking never builds: building an sdist would only run its
    # build backend (arbitrary code: `lock --check` re-locks from the requirements and index
    # a cloned lock records) to learn metadata of a version the lock must refuse anyway.
    options = ResolveOptions(allow_prereleases=settings.allow_prereleases, allow_sdists=False)

    def support_for(target: Any) -> Any:
        opts = replace(provider_options, profile=target.profile)
        return support_function(opts, target.marker_env, None)

    existing = inputs.existing
    upgrade_names = {canonicalize_name(n) for n in upgrade_packages}
    preferred = {}
    if existing is not None and not upgrade:
        preferred = {p.name: p.version for p in existing.packages if p.name not in upgrade_names}
        for name in sorted(upgrade_names - {p.name for p in existing.packages}):
            # a typo must not pass for "nothing newer": say that nothing was freed
            reporter.warning(f"-P {name}: {output} does not lock it")
    infos = [
        LockTargetInfo(
            name=t.name,
            marker_env=dict(t.marker_env),
            profile=shown_profile_path(t.profile, lock_dir) if t.profile else None,
            profile_sha256=t.profile_sha256,
        )
        for t in targets
    ]
    recorded = _recorded_inputs(inputs, settings, lock_dir)
    client = settings.index_client()
    try:
        made = make_lock(
            list(inputs.requirements.requirements),
            targets,
            client=client,
            support_for=support_for,
            options=options,
            lock_dir=lock_dir,
            preferred=preferred,
            inputs=recorded,
            target_infos=infos,
        )
    finally:
        for line in client.warnings:
            reporter.warning(line)
        client.close()
    for note in made.notes:
        reporter.note(note)
    text = dumps(made.lock)
    parse_lock(text, source=str(output))  # what we write must read back (PEP 751 + our names)
    existed = output.exists()
    if check:
        current = output.read_text(encoding="utf-8") if existed else None
        return LockResult(
            output, made.lock, text, targets, up_to_date=current == text, existed=existed
        )
    try:
        atomic_write(output, text.encode("utf-8"))
    except OSError as exc:
        raise InvalidInput(f"-o {output}: cannot write the lock: {exc.strerror or exc}") from None
    return LockResult(output, made.lock, text, targets, written=True, existed=existed)


def _recorded_inputs(inputs: LockInputs, settings: Settings, lock_dir: Path) -> dict[str, object]:
    """``[tool.varwheel.inputs]``: the index options given (flags and ``-r`` files, never the
    configuration), Python versions and platforms, so ``lock --check`` can lock again."""
    f = inputs.flags
    files = inputs.requirements.options
    index_url = f.index_url or (files.index_url if files is not None else None)
    links = [*f.find_links, *(files.find_links if files is not None else ())]
    out: dict[str, object] = {}
    if index_url:
        out["index-url"] = index_url
    if links:
        out["find-links"] = [_shown_link(str(x), lock_dir) for x in links]
    if f.no_index or (files is not None and files.no_index):
        out["no-index"] = True
    if inputs.python_versions:
        out["python-versions"] = [str(v) for v in inputs.python_versions]
    if settings.cross.platforms:
        out["platforms"] = list(settings.cross.platforms)
    return out


def _is_url(text: str) -> bool:
    return "://" in text or text.startswith("file:")


def _shown_link(text: str, lock_dir: Path) -> str:
    """A ``--find-links`` location as recorded: URLs as given, directories relative to the lock
    (like its wheel ``path`` entries), so the lock's bytes do not depend on the working
    directory and ``lock --check`` works from anywhere."""
    from varwheel.lock.targets import shown_profile_path

    return text if _is_url(text) else shown_profile_path(Path(text), lock_dir)


def _recorded_link(text: str, lock_dir: Path) -> str:
    from varwheel.lock.targets import recorded_path

    return text if _is_url(text) else str(recorded_path(text, lock_dir))


def _config_warnings(settings: Settings, reporter: Reporter) -> None:
    for line in settings.warnings:
        reporter.warning("".join(c if c.isprintable() else ascii(c)[1:-1] for c in line))


def _say_undescribed(target: Target, reporter: Reporter) -> None:
    """One warning when ``target`` is another CPU architecture than this machine and no
    profile describes it: the hardware providers can only answer for this machine."""
    from varwheel.providers.summary import undescribed_target_warning

    line = undescribed_target_warning(target.marker_env)
    if line is not None:
        reporter.warning(line)


# -- installing from a lock ----------------------------------------------------------------


def lock_path_of(
    files: Sequence[str | os.PathLike[str]], *, other_requirements: bool = False
) -> Path | None:
    """The one ``-r`` file that is a PEP 751 lock (``pylock.toml``, ``pylock.<name>.toml``);
    mixing it with other requirements or ``-r`` files is refused (a lock is the whole set)."""
    if not files:  # the common case: no lock reader (packaging.pylock, TOML) to import
        return None
    from varwheel.lock.read import is_lock_path

    locks = [f for f in files if is_lock_path(f)]
    if not locks:
        return None
    if len(files) > 1 or other_requirements or len(locks) > 1:
        raise InvalidInput(
            f"-r {os.fspath(locks[0])}: a lock file is the whole set of packages; give it alone "
            "(no other requirements or -r files)"
        )
    return Path(locks[0])


def read_lock_file(path: str | os.PathLike[str], *, reporter: Reporter | None = None) -> LockFile:
    """Read and validate a lock (PEP 751 with our variant extensions); what it tolerates
    (a newer minor version, ...) goes to ``reporter`` as warnings. ``InvalidLock``."""
    from varwheel.lock.read import read_lock

    lock_file = read_lock(path)
    for line in lock_file.warnings:
        (reporter if reporter is not None else Reporter()).warning(line)
    return lock_file


@dataclass(frozen=True)
class LockSelection:
    """What a lock gives one target: per locked package reached from the lock's requirements,
    the chosen wheel (``Planned``: label, ``decided_by``, the full ranking in ``selection``,
    the dependencies it pulls in here), and the root requirements whose markers fail."""

    path: Path
    lock: LockFile
    target: Target
    plan: LockPlan
    settings: Settings = field(default_factory=Settings, compare=False, repr=False)

    @property
    def items(self) -> tuple[Planned, ...]:
        return self.plan.items

    @property
    def ignored(self) -> tuple[str, ...]:
        return self.plan.ignored


def plan_from_lock(
    path: str | os.PathLike[str],
    settings: Settings,
    target: Target,
    *,
    environment: Environment | None = None,
    lock: LockFile | None = None,
    reporter: Reporter | None = None,
) -> LockSelection:
    """Choose each locked package's wheel for ``target``: its providers (or profile) and the
    settings' ``--variant/--prefer/--forbid/--no-variants``; dependencies from the chosen
    wheels' Requires-Dist under their variant markers. No resolution, no index. With
    ``environment`` (the target's own), its distributions feed ``abi_dependency``; ``lock``:
    the file as ``read_lock_file`` read it already. Raises ``InvalidLock`` (malformed or
    inconsistent) or ``NoLockedWheel`` (nothing fits)."""
    from varwheel.api import provider_options
    from varwheel.install.installed import installed_versions
    from varwheel.lock.select import select_from_lock
    from varwheel.providers.support import support_function
    from varwheel.resolve.options import ResolveOptions

    reporter = reporter if reporter is not None else Reporter()
    lock_file = lock if lock is not None else read_lock_file(path, reporter=reporter)
    if target.profile is None and target.is_cross:
        _say_undescribed(target, reporter)
    options = provider_options(settings, target, reporter=reporter)
    local = environment is not None and not target.is_cross
    versions = installed_versions(environment) if local else None  # type: ignore[arg-type]
    support = support_function(options, target.marker_env, versions)
    plan = select_from_lock(
        lock_file,
        tags=target.tags,
        marker_env=target.marker_env,
        support_for=support,
        options=ResolveOptions(
            prefs=settings.selection_preferences(), variant_for=dict(settings.variant_for)
        ),
    )
    return LockSelection(Path(path), lock_file, target, plan, settings)


@dataclass(frozen=True)
class SyncChanges:
    """What installing from a lock changes in an environment: the chosen wheels to install
    (those not installed as locked: same version and label, unless reinstalling), those kept,
    and for an exact sync the installed distributions to remove (name, version)."""

    install: tuple[Planned, ...]
    keep: tuple[Planned, ...]
    remove: tuple[tuple[NormalizedName, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.install and not self.remove


def sync_changes(
    selection: LockSelection,
    environment: Environment,
    *,
    exact: bool = False,
    force_reinstall: bool = False,
) -> SyncChanges:
    """Compare ``selection`` with what ``environment`` has. ``exact`` (``varwheel sync``):
    also remove what the lock does not select, never :data:`PROTECTED` nor what they need."""
    from varwheel.install.installed import installed_distributions, installed_from_env
    from varwheel.lock.plan import protected_names, work_for

    installed = installed_distributions(environment)
    work = work_for(selection.plan, installed, force=force_reinstall)
    remove: list[tuple[NormalizedName, str]] = []
    if exact:
        wanted = {p.name for p in selection.items}
        kept = protected_names(installed_from_env(environment), environment.marker_env, PROTECTED)
        remove = [(n, installed[n].version) for n in sorted(installed) if n not in wanted | kept]
    return SyncChanges(work.install, work.keep, tuple(remove))


@dataclass(frozen=True)
class SyncResult:
    """What ``sync`` did: the wheels installed (one transaction), the distributions removed,
    and pip's check of the installed ones afterwards (``problems``)."""

    installed: tuple[Planned, ...]
    removed: tuple[tuple[NormalizedName, str], ...]
    problems: tuple[str, ...] = ()


def sync(
    selection: LockSelection,
    changes: SyncChanges,
    environment: Environment,
    *,
    compile_bytecode: bool | None = None,
    after_install: Callable[[tuple[Planned, ...]], None] | None = None,
    before_remove: Callable[[tuple[tuple[NormalizedName, str], ...]], None] | None = None,
    reporter: Reporter | None = None,
) -> SyncResult:
    """Apply ``changes`` through ``varwheel.api.execute``, the step every install shares: the
    lock is the plan's source (``lock.source.LockSource``: only the listed files are read, a
    ``path`` relative to the lock, a ``file:`` URL or a download, each checked against the
    size and sha256 the lock records), each wheel's own ``variant.json`` and METADATA must say
    what the lock says, and all are installed in one transaction, or nothing (``LockMismatch``);
    then ``after_install`` is called. Then ``before_remove`` is called and ``changes.remove`` removed (a second transaction).
    ``compile_bytecode``: default the settings'. Refuses a target that is another machine
    (``InvalidInput``)."""
    from varwheel.api import InstallPlan, Requirements, execute
    from varwheel.errors import DownloadMismatch
    from varwheel.install.installed import installed_from_env
    from varwheel.install.transaction import uninstall
    from varwheel.lock.model import LockMismatch
    from varwheel.lock.source import LockSource
    from varwheel.resolve.resolution import Resolution

    reporter = reporter if reporter is not None else Reporter()
    problem = selection.target.not_installable_reason()
    if problem is not None and not changes.empty:
        raise InvalidInput(problem)
    items = changes.install
    problems: tuple[str, ...] = ()
    if items:
        settings = selection.settings
        if compile_bytecode is not None:
            settings = replace(settings, compile_bytecode=compile_bytecode)
        # the locked sha256 of each file is its --hash too (pip's hash-checking mode holds)
        settings = replace(
            settings, hashes=tuple((i.name, f"sha256:{i.wheel.sha256}") for i in items)
        )
        source = LockSource.for_items(
            selection.lock, items, lock_dir=selection.path.resolve().parent
        )
        plan = InstallPlan(
            requirements=Requirements(()),
            settings=settings,
            target=selection.target,
            resolution=Resolution(
                tuple(_resolved(item) for item in items), selection.target.marker_env
            ),
            ignored=(),
            installed=installed_from_env(environment),
            session=_NothingToBuild(selection.path),  # type: ignore[arg-type]
            source=source,
            reporter=reporter,
            _own_source=True,
            _scanned=True,
        )
        try:
            with plan:
                problems = execute(plan, environment, reporter=reporter).problems
        except DownloadMismatch as exc:
            if isinstance(exc, LockMismatch):
                raise
            raise LockMismatch(f"{exc} (lock: {selection.path.name})") from None
        if after_install is not None:
            after_install(items)
    if changes.remove:
        if before_remove is not None:
            before_remove(changes.remove)
        uninstall(environment, [name for name, _version in changes.remove])
    return SyncResult(items, changes.remove, problems)


class _NothingToBuild:
    """The plan's session for an install from a lock: nothing was resolved, nothing is built
    (a lock lists wheels only)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def built_wheel(self, candidate: Any) -> Path:
        from varwheel.lock.model import InvalidLock

        raise InvalidLock(f"{self.path}: {candidate.name}: a lock lists wheels only")

    def metadata(self, candidate: Any) -> None:
        return None

    def close(self) -> None:
        pass


def _resolved(item: Planned) -> Any:
    """A chosen locked wheel as the plan's ``ResolvedPackage``: the candidate with the lock's
    file, the ranking that chose it, the variant metadata and METADATA it was chosen from."""
    from varwheel.codes import MetadataRoute
    from varwheel.lock.plan import candidate_of
    from varwheel.lock.source import locked_file
    from varwheel.resolve.candidates import Release, VersionChoice
    from varwheel.resolve.resolution import ResolvedPackage

    candidate = replace(candidate_of(item), file=locked_file(item.package, item.wheel))
    choice = VersionChoice(
        Release(item.name, item.package.version),
        candidate,
        item.selection,
        item.package.variants,
        MetadataRoute.INDEX,
        item.support,
    )
    return ResolvedPackage(
        candidate,
        requested=item.requested,
        choice=choice,
        metadata=item.used_metadata(),
        extras=item.extras,
    )


# -- explain -r pylock.toml ----------------------------------------------------------------


@dataclass(frozen=True)
class LockExplanation:
    """``explain -r pylock.toml``: per locked package the wheel chosen here and why, every
    other listed wheel's rank or rejection reason."""

    selection: LockSelection

    @property
    def target(self) -> Target:
        return self.selection.target

    def to_json(self) -> dict[str, Any]:
        """The stable ``explain -r pylock.toml --json`` document (without ``environment``)."""
        return {"packages": [_item_json(item) for item in self.selection.items]}


def explain_lock(
    path: str | os.PathLike[str],
    settings: Settings,
    target: Target,
    *,
    environment: Environment | None = None,
    lock: LockFile | None = None,
    reporter: Reporter | None = None,
) -> LockExplanation:
    """What ``path`` would install on ``target`` and why (``plan_from_lock``, nothing fetched)."""
    return LockExplanation(
        plan_from_lock(
            path, settings, target, environment=environment, lock=lock, reporter=reporter
        )
    )


def _item_json(item: Planned) -> dict[str, Any]:
    ranked = {r.wheel.filename: (i + 1, r) for i, r in enumerate(item.selection.ranked)}
    wheels = []
    for w in sorted(item.package.wheels, key=lambda w: w.filename.filename):
        name = w.filename.filename
        rej = next((r for r in item.selection.rejected if r.wheel.filename == name), None)
        rank = ranked.get(name)
        status = "chosen" if w == item.wheel else ("compatible" if rank else "rejected")
        wheels.append(
            {
                "filename": name,
                "label": w.label,
                "status": status,
                "rank": rank[0] if rank else None,
                "reason": None
                if rej is None
                else {"code": rej.reason.code, "message": rej.reason.message},
            }
        )
    return {
        "name": item.name,
        "version": str(item.package.version),
        "chosen": {
            "filename": item.wheel.filename.filename,
            "label": item.label,
            "decided_by": item.decided_by,
            "properties": sorted(str(p) for p in item.properties),
        },
        "required_by": list(item.required_by),
        "dependencies": list(item.dependencies),
        "wheels": wheels,
    }
