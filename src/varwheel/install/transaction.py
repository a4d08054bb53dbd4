"""Atomic install / upgrade / uninstall into a target environment, with ``installer``.

Protocol (all under ``<prefix>/.varwheel/``, same filesystem as site-packages so moves are renames):

1. ``lock`` is held (``flock``) for the whole operation: one varwheel at a time per environment.
2. A leftover ``txn/journal.json`` from a killed run is recovered first (``recover``).
3. Every wheel is validated (``wheelcheck``) and installed by ``installer`` into ``txn/staging``
   (its ``destdir``; scripts and RECORD are written for the TARGET interpreter and real paths).
   A failure up to here changes nothing in the environment.
4. The journal is written (tmp + rename): files to displace (old versions' RECORD files
   and any file a new wheel overwrites), files to place, directories that will be created.
5. Displaced files are moved into ``txn/backup``, then staged files are moved into place. A
   directory that does not exist in the target yet (or, when displacing, one wholly owned by the
   replaced distributions) moves in one rename instead of file by file.
6. The journal is marked ``committed``; backup, staging and journal are deleted.

Recovery: a journal in state ``applying`` is rolled back (placed paths whose staged copy is gone
are removed, then the journal says ``restoring`` and backups move back); a ``committed`` one is
rolled forward (clean-up only). Either way the environment equals the before or the after state,
also when the recovery itself is interrupted and run again.

Bytecode is not compiled by default (like uv; pip compiles): Python writes ``__pycache__`` on
first import anyway, and compiling dominates the cost of installing small wheels.
``compile_bytecode=True`` (``--compile``) compiles into the staging area, so it is atomic too.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import shutil
import signal
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from varwheel.errors import InstallError
from varwheel.index.hashes import file_digest
from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import (
    InstalledDistribution,
    installed_distributions,
    read_record,
)
from varwheel.install.wheelcheck import CheckedWheel, check_wheel

if TYPE_CHECKING:
    from varwheel.resolve.resolver import ResolvedPackage

__all__ = [
    "InstallResult",
    "InstalledWheel",
    "UninstallResult",
    "environment_lock",
    "install_wheels",
    "recover",
    "recover_if_needed",
    "uninstall",
]

INSTALLER_NAME = b"varwheel\n"
JOURNAL_VERSION = 1
STATE_DIR = ".varwheel"
LOCK_TIMEOUT_S = 60.0
# Test-only: SIGKILL this process after N file moves, or after the commit record ("commit").
CRASH_ENV = "VARWHEEL_TEST_CRASH_AFTER"


@dataclass(frozen=True)
class InstalledWheel:
    name: NormalizedName
    display_name: str
    version: str
    wheel: Path
    label: str | None
    replaced_version: str | None = None


@dataclass(frozen=True)
class InstallResult:
    installed: tuple[InstalledWheel, ...]
    removed: tuple[tuple[NormalizedName, str], ...] = ()
    skipped: tuple[NormalizedName, ...] = ()
    recovered: str | None = None  # what was done about a leftover journal, if any


@dataclass(frozen=True)
class UninstallResult:
    removed: tuple[tuple[NormalizedName, str], ...]
    missing: tuple[NormalizedName, ...] = ()
    recovered: str | None = None


@dataclass
class _Plan:
    displace: list[str] = field(default_factory=list)  # absolute paths moved into backup
    place: list[str] = field(default_factory=list)  # absolute targets of staged files
    new_dirs: list[str] = field(default_factory=list)  # created for placed files (none so far)
    prune_dirs: list[str] = field(default_factory=list)  # emptied by displacement


# --- locking and paths ----------------------------------------------------------------------


def _state_dir(env: TargetEnvironment) -> Path:
    return env.prefix / STATE_DIR


def _txn_dir(env: TargetEnvironment) -> Path:
    return _state_dir(env) / "txn"


@contextlib.contextmanager
def environment_lock(env: TargetEnvironment, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Exclusive lock on the environment for the duration of the block."""
    import fcntl

    state = _state_dir(env)
    try:
        state.mkdir(exist_ok=True)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InstallError(
            f"{env.prefix}: cannot write to the environment ({exc.strerror})"
        ) from exc
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InstallError(
                        f"{env.prefix}: another varwheel process is changing this environment "
                        f"(lock {state / 'lock'})"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _move(src: str, dst: str) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(src, dst)


def _staged(staging: Path, target: str) -> str:
    return str(staging) + target


def _write_journal(txn: Path, doc: Mapping[str, Any]) -> None:
    tmp = txn / "journal.json.tmp"
    # Atomic replace, no fsync: this protects against the process dying (SIGKILL, Ctrl-C, crash),
    # whose writes the kernel keeps; surviving power loss would need every installed file synced
    # too, which neither pip nor uv do.
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, txn / "journal.json")


def _prune(dirs: Sequence[str], stop: Collection[str]) -> None:
    """Remove the given directories and their parents while empty, deepest first."""
    for d in sorted(set(dirs), key=lambda p: p.count(os.sep), reverse=True):
        current = d
        while current not in stop and current != os.path.dirname(current):
            try:
                os.rmdir(current)
            except OSError:
                break
            current = os.path.dirname(current)


def _stop_dirs(env: TargetEnvironment) -> set[str]:
    roots = {env.prefix, env.purelib, env.platlib, env.scripts, env.data, env.headers}
    return {str(r) for r in roots}


# --- recovery -------------------------------------------------------------------------------


def _rollback(txn: Path, journal: Mapping[str, Any], stop: Collection[str]) -> None:
    """Undo an applied-in-part transaction; idempotent, so a killed recovery can run again."""
    staging = txn / "staging"
    backup = txn / "backup"
    if journal.get("state") != "restoring":
        for target in reversed(journal["place"]):
            if not os.path.lexists(_staged(staging, target)) and os.path.lexists(target):
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)  # a whole new directory placed in one rename
                else:
                    os.unlink(target)
        # Directories made for placed files (possibly where a displaced directory was): remove
        # them while empty so the displaced originals can move back.
        _prune([os.path.dirname(t) for t in journal["place"]], stop)
        # From here on a restored original may sit at a placed path: never delete placed paths
        # again, even if this recovery is killed and rerun.
        _write_journal(txn, {**journal, "state": "restoring"})
    for index in range(len(journal["displace"]) - 1, -1, -1):
        original = journal["displace"][index]
        saved = backup / str(index)
        if os.path.lexists(saved):
            os.makedirs(os.path.dirname(original), exist_ok=True)
            _move(str(saved), original)
    for d in sorted(journal["new_dirs"], key=lambda p: p.count(os.sep), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(d)


def recover(env: TargetEnvironment) -> str | None:
    """Finish or undo a transaction left by a killed run. Call with the lock held.

    Returns a one-line account of what was done, or None when there was nothing to do."""
    txn = _txn_dir(env)
    if not txn.exists():
        return None
    try:
        journal = json.loads((txn / "journal.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        shutil.rmtree(txn)  # killed before the journal existed: nothing was changed
        return "removed the staging area of an interrupted varwheel run (nothing had changed)"
    except ValueError as exc:
        raise InstallError(f"{txn / 'journal.json'}: unreadable transaction journal") from exc
    if journal.get("state") == "committed":
        _prune(journal["prune_dirs"], _stop_dirs(env))
        shutil.rmtree(txn)
        return f"completed an interrupted varwheel {journal.get('op', 'transaction')}"
    _rollback(txn, journal, _stop_dirs(env))
    shutil.rmtree(txn)
    return (
        f"rolled back an interrupted varwheel {journal.get('op', 'transaction')}; "
        "the environment is as it was before it"
    )


# --- planning -------------------------------------------------------------------------------


def _inside(path: str, roots: Collection[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _files_of(env: TargetEnvironment, dist: InstalledDistribution) -> list[str]:
    """Absolute paths of ``dist``'s files (RECORD, stale bytecode, unrecorded dist-info files)."""
    site = str(dist.dist_info.parent)
    roots = _stop_dirs(env)
    out: dict[str, None] = {}
    for rel in read_record(dist):
        path = os.path.normpath(os.path.join(site, rel))
        if not _inside(path, roots):
            raise InstallError(
                f"{dist.display_name} {dist.version}: RECORD lists {rel!r}, outside the "
                f"environment {env.prefix}; refusing to remove it"
            )
        if os.path.lexists(path) and not os.path.isdir(path):
            out[path] = None
        if path.endswith(".py"):
            head, tail = os.path.split(path)
            cache = os.path.join(head, "__pycache__")
            with contextlib.suppress(OSError):
                for entry in os.scandir(cache):
                    if entry.name.startswith(tail[:-3] + ".") and entry.name.endswith(".pyc"):
                        out[entry.path] = None
    for root, _dirs, files in os.walk(dist.dist_info):
        for name in files:
            out[os.path.join(root, name)] = None
    return list(out)


def _whole_dirs(paths: list[str], site_dirs: Collection[str]) -> list[str]:
    """Replace the files of a top-level directory of a site dir by the directory itself when
    every file in it is to be displaced: one rename instead of one per file, and no per-directory
    ``rmdir`` afterwards (slow on some filesystems)."""
    wanted = set(paths)
    by_top: dict[str, list[str]] = {}
    for path in paths:
        for site in site_dirs:
            if path.startswith(site + os.sep):
                rest = path[len(site) + 1 :]
                if os.sep in rest:
                    by_top.setdefault(os.path.join(site, rest.split(os.sep, 1)[0]), []).append(path)
                break
    whole: set[str] = set()
    for top, files in by_top.items():
        if os.path.islink(top):
            continue
        complete = True
        count = 0
        for dirpath, dirs, names in os.walk(top):
            for d in dirs:
                if os.path.islink(os.path.join(dirpath, d)):
                    complete = False
            for name in names:
                count += 1
                if os.path.join(dirpath, name) not in wanted:
                    complete = False
            if not complete:
                break
        if complete and count == len(files):
            whole.add(top)
    out = [p for p in paths if not any(p.startswith(t + os.sep) for t in whole)]
    return out + sorted(whole)


def _placement(staging: Path) -> tuple[list[str], list[str]]:
    """Targets to move in from ``staging`` and existing paths they replace.

    A staged directory whose target does not exist moves as a whole (one rename); otherwise its
    files move one by one."""
    root = str(staging)
    place: list[str] = []
    replaced: list[str] = []

    def visit(staged_dir: str) -> None:
        with os.scandir(staged_dir) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                target = entry.path[len(root) :]
                target_is_dir = os.path.isdir(target) and not os.path.islink(target)
                if entry.is_dir(follow_symlinks=False):
                    if not os.path.lexists(target):
                        place.append(target)
                    elif target_is_dir:
                        visit(entry.path)
                    else:
                        raise InstallError(
                            f"{target}: a file is in the way of a directory to install"
                        )
                else:
                    if target_is_dir:
                        raise InstallError(
                            f"{target}: a directory is in the way of a file to install"
                        )
                    if os.path.lexists(target):
                        replaced.append(target)
                    place.append(target)

    visit(root)
    return place, replaced


def _crash_countdown() -> int | None:
    """Test hook: ``N`` kills after N moves, ``commit`` right after the commit record."""
    value = os.environ.get(CRASH_ENV)
    if not value:
        return None
    return -1 if value == "commit" else int(value)


def _apply(txn: Path, plan: _Plan, op: str) -> None:
    journal = {
        "version": JOURNAL_VERSION,
        "op": op,
        "state": "applying",
        "displace": plan.displace,
        "place": plan.place,
        "new_dirs": plan.new_dirs,
        "prune_dirs": plan.prune_dirs,
    }
    _write_journal(txn, journal)
    crash_after = _crash_countdown()
    moves = 0
    backup = txn / "backup"
    backup.mkdir(exist_ok=True)
    staging = txn / "staging"
    made: set[str] = set()
    for index, original in enumerate(plan.displace):
        _move(original, str(backup / str(index)))
        moves += 1
        if crash_after is not None and 0 < crash_after <= moves:
            os.kill(os.getpid(), signal.SIGKILL)
    for target in plan.place:
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        _move(_staged(staging, target), target)
        moves += 1
        if crash_after is not None and 0 < crash_after <= moves:
            os.kill(os.getpid(), signal.SIGKILL)
    journal["state"] = "committed"
    _write_journal(txn, journal)
    if crash_after == -1:
        os.kill(os.getpid(), signal.SIGKILL)


def _finish(env: TargetEnvironment, txn: Path, plan: _Plan) -> None:
    _prune(plan.prune_dirs, _stop_dirs(env))
    shutil.rmtree(txn, ignore_errors=True)


def _run_plan(env: TargetEnvironment, txn: Path, plan: _Plan, op: str) -> None:
    try:
        _apply(txn, plan, op)
    except BaseException as exc:
        # A Python-level failure (disk full, permission, Ctrl-C): undo now, as recovery would.
        try:
            journal = json.loads((txn / "journal.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            journal = {"state": "none", "place": [], "displace": [], "new_dirs": []}
        if journal.get("state") != "committed":
            _rollback(txn, journal, _stop_dirs(env))
            shutil.rmtree(txn, ignore_errors=True)
            if isinstance(exc, OSError):
                raise InstallError(
                    f"{env.prefix}: {op} failed ({exc}); the environment was restored"
                ) from exc
            raise
    _finish(env, txn, plan)


# --- install --------------------------------------------------------------------------------


@functools.cache
def _destination_class() -> type:
    from installer.destinations import SchemeDictionaryDestination

    class _Destination(SchemeDictionaryDestination):  # type: ignore[misc]
        def write_file(self, scheme: Any, path: Any, stream: Any, is_executable: bool) -> Any:
            # Files in the scripts scheme are commands: executable even when the archive lost
            # the mode bits (zips written on Windows or by naive tools), as pip does.
            return super().write_file(scheme, path, stream, is_executable or scheme == "scripts")

        def _path_with_destdir(self, scheme: Any, path: str) -> Path:
            # Same contract as installer's (refuse paths escaping the scheme directory, map into
            # destdir) with string operations: installer's pathlib version costs several Path
            # objects per file, a large share of unpacking small wheels. Where installer has no
            # such hook this override is unused and installer's own code runs.
            base = os.path.abspath(self.scheme_dict[scheme])
            target = os.path.normpath(os.path.join(base, path))
            if not target.startswith(base.rstrip(os.sep) + os.sep):
                raise ValueError(f"Attempting to write {path} outside of the target directory")
            if self.destdir is not None:
                return Path(self.destdir + target)
            return Path(target)

    return _Destination


def _stage(
    env: TargetEnvironment,
    checked: CheckedWheel,
    staging: Path,
    extra: Mapping[str, bytes],
    compile_bytecode: bool,
) -> None:
    from installer import install
    from installer.sources import WheelFile

    schemes = {
        "purelib": str(env.purelib),
        "platlib": str(env.platlib),
        "scripts": str(env.scripts),
        "data": str(env.data),
        "headers": str(env.headers / checked.name),
    }

    destination = _destination_class()(
        schemes,
        interpreter=str(env.python),
        script_kind="posix" if os.name != "nt" else "win-amd64",
        bytecode_optimization_levels=(0,) if compile_bytecode else (),
        destdir=str(staging),
        overwrite_existing=True,
    )
    try:
        with WheelFile.open(checked.path) as source:
            install(source, destination, dict(extra))
    except Exception as exc:
        raise InstallError(
            f"{checked.path.name}: could not be unpacked ({exc}); nothing was installed"
        ) from exc


def direct_url_documents(
    todo: Sequence[ResolvedPackage], paths: Sequence[Path]
) -> dict[str, dict[str, Any]]:
    """PEP 610 ``direct_url.json`` documents of the packages named by path or URL, keyed by
    project; a URL given without a hash gets the sha256 of the wheel that is installed."""
    out: dict[str, dict[str, Any]] = {}
    for pkg, path in zip(todo, paths, strict=True):
        file = pkg.candidate.file
        if not pkg.is_direct or file is None:
            continue
        archive_info: dict[str, Any] = {"hashes": dict(file.hashes)}
        if not file.hashes:
            digest = file_digest(path, "sha256")
            archive_info = {"hashes": {"sha256": digest}, "hash": f"sha256={digest}"}
        out[pkg.name] = {"url": file.url, "archive_info": archive_info}
    return out


def install_wheels(
    env: TargetEnvironment,
    wheels: Sequence[Path],
    *,
    upgrade_existing: bool = True,
    requested: Collection[str] = frozenset(),
    direct_urls: Mapping[str, Mapping[str, Any]] | None = None,
    compile_bytecode: bool = False,
) -> InstallResult:
    """Install ``wheels`` into ``env`` atomically: all of them, or none and the env unchanged.

    An installed distribution of the same project is replaced (``upgrade_existing``) or the wheel
    skipped. ``requested`` names get a ``REQUESTED`` file; ``direct_urls`` maps a project name to
    its PEP 610 ``direct_url.json`` document (only for direct URL/path installs, like pip).
    """
    requested_names = {canonicalize_name(n) for n in requested}
    urls = {canonicalize_name(k): v for k, v in (direct_urls or {}).items()}
    checked = [check_wheel(Path(w)) for w in wheels]
    seen: dict[NormalizedName, CheckedWheel] = {}
    for c in checked:
        if c.project in seen:
            raise InstallError(
                f"{c.path.name} and {seen[c.project].path.name} are both {c.project}; "
                "nothing was installed"
            )
        seen[c.project] = c

    with environment_lock(env):
        recovered = recover(env)
        current = installed_distributions(env)
        todo: list[CheckedWheel] = []
        skipped: list[NormalizedName] = []
        replaced: list[InstalledDistribution] = []
        for c in checked:
            old = current.get(c.project)
            if old is not None and not upgrade_existing:
                skipped.append(c.project)
                continue
            if old is not None:
                replaced.append(old)
            todo.append(c)

        txn = _txn_dir(env)
        staging = txn / "staging"
        staging.mkdir(parents=True)
        try:
            for c in todo:
                extra = {"INSTALLER": INSTALLER_NAME}
                if c.project in requested_names:
                    extra["REQUESTED"] = b""
                if c.project in urls:
                    extra["direct_url.json"] = json.dumps(urls[c.project], sort_keys=True).encode()
                _stage(env, c, staging, extra, compile_bytecode)
            plan = _Plan()
            displaced: dict[str, None] = {}
            for old in replaced:
                for path in _files_of(env, old):
                    displaced[path] = None
            plan.place, overwritten = _placement(staging)
            for path in overwritten:
                displaced[path] = None
            plan.prune_dirs = sorted({os.path.dirname(p) for p in displaced})
            plan.displace = _whole_dirs(list(displaced), [str(d) for d in env.site_dirs])
        except BaseException:
            shutil.rmtree(txn, ignore_errors=True)
            raise
        _run_plan(env, txn, plan, "install")

    by_name = {old.name: old for old in replaced}
    return InstallResult(
        installed=tuple(
            InstalledWheel(
                name=c.project,
                display_name=c.name,
                version=c.version,
                wheel=c.path,
                label=c.label,
                replaced_version=by_name[c.project].version if c.project in by_name else None,
            )
            for c in todo
        ),
        removed=tuple((old.name, old.version) for old in replaced),
        skipped=tuple(skipped),
        recovered=recovered,
    )


def uninstall(env: TargetEnvironment, names: Sequence[str]) -> UninstallResult:
    """Remove the named distributions atomically, using their RECORD files.

    Names not installed are reported in ``missing``. A RECORD entry outside the environment or
    a distribution without RECORD is an ``InstallError`` and nothing is removed."""
    wanted = list(dict.fromkeys(canonicalize_name(n) for n in names))
    with environment_lock(env):
        recovered = recover(env)
        current = installed_distributions(env)
        targets = [current[n] for n in wanted if n in current]
        missing = tuple(n for n in wanted if n not in current)
        plan = _Plan()
        displaced: dict[str, None] = {}
        for dist in targets:
            for path in _files_of(env, dist):
                displaced[path] = None
        plan.prune_dirs = sorted({os.path.dirname(p) for p in displaced})
        plan.displace = _whole_dirs(list(displaced), [str(d) for d in env.site_dirs])
        if plan.displace:
            txn = _txn_dir(env)
            txn.mkdir(parents=True)
            _run_plan(env, txn, plan, "uninstall")
    return UninstallResult(
        removed=tuple((d.name, d.version) for d in targets),
        missing=missing,
        recovered=recovered,
    )


def recover_if_needed(env: TargetEnvironment) -> str | None:
    """``recover`` under the lock, taken only when a leftover transaction exists (cheap check,
    so read-only commands such as ``list`` work in environments they cannot write to)."""
    if not _txn_dir(env).exists():
        return None
    with environment_lock(env):
        return recover(env)
