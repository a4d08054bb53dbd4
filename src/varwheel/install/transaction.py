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

Safety (see ``destinations`` and ``journal``): every destination a wheel writes (files, data
scheme, entry-point scripts) is checked before it is staged: never varwheel's state directory,
the interpreter, ``pyvenv.cfg`` or an activation script, never a file another wheel of the batch
writes; after staging, an existing file it would overwrite must belong to the distribution it
replaces (else the install is refused naming the owner, or saying that no distribution owns it).
Uninstall and upgrade never remove a file another installed distribution's RECORD lists, nor a
reserved path. The journal is signed with a per-environment key and recovery checks every path
in it against the environment before touching any. A backup goes back to exactly the path it
came from; when it cannot (something in its way, a read-only directory) it stays in the backup,
the journal is kept and ``StuckTransaction`` says, in one line, what is in the way and which
command finishes the rollback; every later command refuses with that same line until then.

Wheels go through the unpacked-wheel cache (``install.unpacked``): validated and unpacked
once, then their members are hard-linked (or cloned, or copied: the link mode) into staging;
RECORD, INSTALLER, REQUESTED, ``direct_url.json`` and scripts are written per install. Staging
stays inside ``.varwheel/txn``, so everything above holds unchanged for linked files.

Bytecode is not compiled by default (like uv; pip compiles): Python writes ``__pycache__`` on
first import anyway, and compiling dominates the cost of installing small wheels.
``compile_bytecode=True`` (``--compile``) compiles into the staging area, so it is atomic too.
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import functools
import io
import json
import os
import shlex
import shutil
import signal
import stat
import time
import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name

from varwheel.errors import InstallError, StuckTransaction
from varwheel.install import journal
from varwheel.install.destinations import STATE_DIR, EnvironmentLayout
from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import (
    FORCED_VARIANT_FILE,
    InstalledDistribution,
    forced_variant_document,
    installed_distributions,
    read_record,
    record_owners,
)
from varwheel.install.unpacked import (
    PreparedWheel,
    UnpackedCache,
    UnpackedWheel,
    default_unpacked_cache,
    link_mode_from,
    place,
    prepare_wheels,
)
from varwheel.install.wheelcheck import CheckedWheel

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
LOCK_TIMEOUT_S = 60.0
# Test-only: SIGKILL this process after N file moves, or after the commit record ("commit");
# CRASH_SIGNAL_ENV=SIGINT sends that signal instead (a real Ctrl-C in the middle of placement).
CRASH_ENV = "VARWHEEL_TEST_CRASH_AFTER"
CRASH_SIGNAL_ENV = "VARWHEEL_TEST_CRASH_SIGNAL"


@dataclass(frozen=True)
class InstalledWheel:
    name: NormalizedName
    display_name: str
    version: str
    wheel: Path
    label: str | None
    replaced_version: str | None = None
    # where its ``*.dist-info`` now is (the wheel's root scheme, PEP 427)
    dist_info: Path | None = None


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
    # files a removed RECORD lists that stay: (absolute path, why), e.g. another
    # distribution's RECORD lists it too, or it is a reserved path such as the interpreter
    kept: tuple[tuple[str, str], ...] = ()


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


def _leftovers_dir(env: TargetEnvironment) -> Path:
    return _state_dir(env) / "leftovers"


def _settle_hint(env: TargetEnvironment) -> str:
    """The command that settles an interrupted transaction: any command that recovers does
    (``list`` is the one that changes nothing else)."""
    return f"`varwheel list --python {shlex.quote(str(env.prefix))}`"


@contextlib.contextmanager
def environment_lock(env: TargetEnvironment, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Exclusive lock on the environment for the duration of the block."""
    import fcntl

    state = _state_dir(env)
    try:
        state.mkdir(exist_ok=True)
        if not stat.S_ISDIR(os.lstat(state).st_mode):
            raise InstallError(
                f"{state}: varwheel's state directory is a symlink or a file; "
                "remove it and run varwheel again"
            )
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
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
    """Rename ``src`` to exactly ``dst``, never into it (``shutil.move`` moves into an existing
    directory, which once put a restored backup at ``pip/3``)."""
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # Across filesystems: copy to exactly ``dst``, then remove ``src``. A move that fails
        # half-way must not have happened: a partial copy is dropped, and when ``src`` cannot
        # be removed (read-only) what was removed of it is put back and the copy dropped, so a
        # rollback never finds the original and its backup both in place (a stuck
        # transaction). Only if that fails too do both stay (nothing is lost).
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst) from exc
        tree = os.path.isdir(src) and not os.path.islink(src)
        try:
            if tree:
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst, follow_symlinks=False)
        except BaseException:
            _discard(dst)  # did not exist before: only our partial copy
            raise
        try:
            if tree:
                shutil.rmtree(src)
            else:
                os.unlink(src)
        except OSError as failed:
            if _put_back_missing(dst, src):
                _discard(dst)
            # rmtree names only the entry it failed on; the user needs the path that was moved
            raise OSError(failed.errno, failed.strerror, src) from failed


def _discard(path: str) -> None:
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _put_back_missing(copy: str, src: str) -> bool:
    """Recreate under ``src`` whatever of ``copy`` a failed delete already removed; True when
    ``src`` is whole again."""
    try:
        if not os.path.lexists(src):
            if os.path.isdir(copy) and not os.path.islink(copy):
                shutil.copytree(copy, src, symlinks=True)
            else:
                shutil.copy2(copy, src, follow_symlinks=False)
            return True
        for root, dirs, files in os.walk(copy):
            there = os.path.join(src, os.path.relpath(root, copy))
            for name in dirs:
                if not os.path.lexists(os.path.join(there, name)):
                    shutil.copytree(
                        os.path.join(root, name), os.path.join(there, name), symlinks=True
                    )
            for name in files:
                if not os.path.lexists(os.path.join(there, name)):
                    shutil.copy2(
                        os.path.join(root, name), os.path.join(there, name), follow_symlinks=False
                    )
    except OSError:
        return False
    return True


def _staged(staging: Path, target: str) -> str:
    return str(staging) + target


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _prune(dirs: Sequence[str], stop: Collection[str]) -> None:
    """Remove the given directories and their parents while empty, deepest first; never a
    ``stop`` directory or anything outside them."""
    for d in sorted(set(dirs), key=lambda p: p.count(os.sep), reverse=True):
        current = d
        while (
            current not in stop
            and current != os.path.dirname(current)
            and any(_under(current, r) for r in stop)
        ):
            try:
                os.rmdir(current)
            except OSError:
                break
            current = os.path.dirname(current)


def _remove_txn(txn: Path) -> None:
    """Forget a settled transaction: the journal first (one unlink), so a run killed while the
    rest is deleted finds no journal and never replays it against the settled environment."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(txn / journal.JOURNAL_NAME)
    shutil.rmtree(txn, ignore_errors=True)
    if os.path.lexists(txn):
        # Something in it cannot be deleted (an immutable file, a read-only directory of a
        # removed package): move it aside so it never blocks the next run, which retries
        # deleting it (``_clear_leftovers``).
        aside = txn.parent / "leftovers" / f"txn-{time.time_ns()}"
        with contextlib.suppress(OSError):
            aside.parent.mkdir(exist_ok=True)
            os.rename(txn, aside)


def _clear_leftovers(env: TargetEnvironment) -> None:
    """Retry deleting what earlier runs could not (best effort, under the lock)."""
    leftovers = _leftovers_dir(env)
    if os.path.lexists(leftovers):
        shutil.rmtree(leftovers, ignore_errors=True)


# --- recovery -------------------------------------------------------------------------------


def _stuck(env: TargetEnvironment, op: str, problem: str) -> StuckTransaction:
    return StuckTransaction(
        f"{env.prefix}: an interrupted varwheel {op} cannot be rolled back: {problem}; its "
        f"journal and backups are kept in {_txn_dir(env)}; fix that, then run "
        f"{_settle_hint(env)} to finish the rollback"
    )


def _untrusted(env: TargetEnvironment, reason: str) -> StuckTransaction:
    txn = _txn_dir(env)
    return StuckTransaction(
        f"{env.prefix}: {txn / journal.JOURNAL_NAME} is not a transaction journal varwheel can "
        f"trust ({reason}); nothing was done with it; check the environment, remove {txn}, "
        f"then run {_settle_hint(env)}"
    )


def _unsafe_path(layout: EnvironmentLayout, doc: Mapping[str, Any]) -> str | None:
    """The first journal path recovery must not act on: outside the environment (also through
    a symlinked parent), a scheme root itself, or a reserved destination."""
    for name in ("displace", "place", "new_dirs", "prune_dirs"):
        for path in doc[name]:
            ok = layout.contains(path, allow_root=name == "prune_dirs")
            if not ok or (name != "prune_dirs" and layout.reserved(path)):
                return path
    return None


def _rollback(
    env: TargetEnvironment,
    txn: Path,
    doc: Mapping[str, Any],
    layout: EnvironmentLayout,
    key: bytes,
) -> None:
    """Undo an applied-in-part transaction; idempotent, so a killed recovery can run again.
    ``StuckTransaction`` (journal kept) when something cannot be put back."""
    staging = txn / "staging"
    backup = txn / "backup"
    op = str(doc["op"])
    if doc["state"] != "restoring":
        for target in reversed(doc["place"]):
            try:
                if not os.path.lexists(_staged(staging, target)) and os.path.lexists(target):
                    if os.path.isdir(target) and not os.path.islink(target):
                        shutil.rmtree(target)  # a whole new directory placed in one rename
                    else:
                        os.unlink(target)
            except OSError as exc:
                raise _stuck(
                    env, op, f"cannot remove the newly placed {target} ({exc.strerror})"
                ) from exc
        # Directories made for placed files (possibly where a displaced directory was): remove
        # them while empty so the displaced originals can move back.
        _prune([os.path.dirname(t) for t in doc["place"]], layout.roots)
        # From here on a restored original may sit at a placed path: never delete placed paths
        # again, even if this recovery is killed and rerun.
        try:
            journal.write(txn, key, {**doc, "state": "restoring"})
        except OSError as exc:
            raise _stuck(env, op, f"cannot update its journal ({exc.strerror})") from exc
    problems: list[str] = []
    for index in range(len(doc["displace"]) - 1, -1, -1):
        original = doc["displace"][index]
        saved = str(backup / str(index))
        if not os.path.lexists(saved):
            continue  # never displaced, or already put back
        if os.path.lexists(original):
            kind = "a directory" if os.path.isdir(original) else "a file"
            problems.append(f"{kind} is in the way at {original} (the original is kept as {saved})")
            continue
        try:
            os.makedirs(os.path.dirname(original), exist_ok=True)
            _move(saved, original)
        except OSError as exc:
            problems.append(
                f"cannot put back {original} ({exc.strerror}; the original is kept as {saved})"
            )
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise _stuck(env, op, problems[0] + more)
    for d in sorted(doc["new_dirs"], key=lambda p: p.count(os.sep), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(d)


def recover(env: TargetEnvironment) -> str | None:
    """Finish or undo a transaction left by a killed run. Call with the lock held.

    Returns a one-line account of what was done, or None when there was nothing to do.
    ``StuckTransaction`` when the journal is not varwheel's own for this environment, names a
    path outside it, or the rollback cannot be completed (nothing unsafe is touched)."""
    _clear_leftovers(env)
    txn = _txn_dir(env)
    if not os.path.lexists(txn):
        return None
    if not stat.S_ISDIR(os.lstat(txn).st_mode):
        raise _untrusted(env, f"{txn} is not a directory")
    key = journal.environment_key(_state_dir(env), create=False)
    try:
        doc = journal.read(txn, key)
    except FileNotFoundError:
        _remove_txn(txn)  # killed before the journal existed: nothing was changed
        return "removed the staging area of an interrupted varwheel run (nothing had changed)"
    except journal.JournalRejected as exc:
        raise _untrusted(env, str(exc)) from None
    except OSError as exc:
        raise _untrusted(env, exc.strerror or str(exc)) from exc
    layout = EnvironmentLayout.of(env)
    bad = _unsafe_path(layout, doc)
    if bad is not None:
        raise _untrusted(env, f"it names {bad!r}, outside the environment or reserved")
    assert key is not None  # read() verified the journal with it
    if doc["state"] == "committed":
        _prune(doc["prune_dirs"], layout.roots)
        _remove_txn(txn)
        return f"completed an interrupted varwheel {doc['op']}"
    _rollback(env, txn, doc, layout, key)
    _remove_txn(txn)
    return (
        f"rolled back an interrupted varwheel {doc['op']}; the environment is as it was before it"
    )


# --- planning -------------------------------------------------------------------------------


def _files_of(
    env: TargetEnvironment,
    layout: EnvironmentLayout,
    dist: InstalledDistribution,
    kept: dict[str, str] | None = None,
) -> list[str]:
    """Absolute paths of ``dist``'s files (RECORD, stale bytecode, unrecorded dist-info files).

    A path outside the environment (also through a symlinked directory) is an InstallError;
    reserved paths (the interpreter, ``pyvenv.cfg``, activation scripts, varwheel's state) are
    never removed, whatever a RECORD says (``kept`` gets them with the reason)."""
    site = str(dist.dist_info.parent)
    out: dict[str, None] = {}

    def add(path: str, shown: str) -> None:
        if not layout.contains(path):
            raise InstallError(
                f"{dist.display_name} {dist.version}: RECORD lists {shown!r}, outside the "
                f"environment {env.prefix}; refusing to remove it"
            )
        reason = layout.reserved(path)
        if reason is None:
            out[path] = None
        elif kept is not None:
            kept[path] = reason

    for rel in read_record(dist):
        path = os.path.normpath(os.path.join(site, rel))
        if os.path.lexists(path) and not os.path.isdir(path):
            add(path, rel)
        elif not layout.contains(path, allow_root=True):
            add(path, rel)  # raises: never even look further outside
        if path.endswith(".py"):
            head, tail = os.path.split(path)
            cache = os.path.join(head, "__pycache__")
            with contextlib.suppress(OSError):
                for entry in os.scandir(cache):
                    if entry.name.startswith(tail[:-3] + ".") and entry.name.endswith(".pyc"):
                        add(entry.path, entry.path)
    for root, _dirs, files in os.walk(dist.dist_info):
        for name in files:
            path = os.path.join(root, name)
            add(path, os.path.relpath(path, site))
    return list(out)


def _removable(
    env: TargetEnvironment,
    layout: EnvironmentLayout,
    dists: Sequence[InstalledDistribution],
    kept: dict[str, str] | None = None,
    current: Mapping[NormalizedName, InstalledDistribution] | None = None,
) -> dict[str, None]:
    """The files of ``dists`` to displace: all of them except those another installed
    distribution's RECORD also lists (an upgrade or uninstall never takes another's files);
    ``kept`` gets what stays and why; ``current``: the transaction's one scan of ``env``."""
    out: dict[str, None] = {}
    for dist in dists:
        for path in _files_of(env, layout, dist, kept):
            out[path] = None
    if out:
        others = record_owners(env, exclude={d.name for d in dists}, dists=current)
        if kept is not None:
            for path in out:
                if path in others:
                    owner = others[path]
                    kept[path] = f"{owner.display_name} {owner.version} lists it too"
        out = {p: None for p in out if p not in others}
    return out


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


def _writer(written: Mapping[str, tuple[str, str]] | None, target: str) -> str:
    """``WHEEL: 'MEMBER'`` of what is staged at or under ``target``, for messages."""
    below = target.rstrip(os.sep) + os.sep
    for path, (wheel, member) in (written or {}).items():
        if path == target or path.startswith(below):
            return f"{wheel}: {member!r}"
    return "a wheel"


def _placement(
    staging: Path, written: Mapping[str, tuple[str, str]] | None = None
) -> tuple[list[str], list[str]]:
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
                            f"{_writer(written, target)} would write under {target}, which is "
                            "a file or a symlink; nothing was installed"
                        )
                else:
                    if target_is_dir:
                        raise InstallError(
                            f"{_writer(written, target)} would write {target}, which is a "
                            "directory; nothing was installed"
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


def _apply(txn: Path, key: bytes, doc: dict[str, Any], plan: _Plan) -> None:
    """Carry ``plan`` out; ``doc["state"]`` follows the journal on disk (``none`` until the
    first journal is written), so a failure here is undone from memory, not from disk."""
    journal.write(txn, key, {**doc, "state": "applying"})
    doc["state"] = "applying"
    crash_after = _crash_countdown()
    crash = signal.Signals[os.environ.get(CRASH_SIGNAL_ENV) or "SIGKILL"]
    moves = 0
    backup = txn / "backup"
    backup.mkdir(exist_ok=True)
    staging = txn / "staging"
    made: set[str] = set()
    for index, original in enumerate(plan.displace):
        _move(original, str(backup / str(index)))
        moves += 1
        if crash_after is not None and 0 < crash_after <= moves:
            os.kill(os.getpid(), crash)
    for target in plan.place:
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        _move(_staged(staging, target), target)
        moves += 1
        if crash_after is not None and 0 < crash_after <= moves:
            os.kill(os.getpid(), crash)
    journal.write(txn, key, {**doc, "state": "committed"})
    doc["state"] = "committed"
    if crash_after == -1:
        os.kill(os.getpid(), crash)


def _run_plan(
    env: TargetEnvironment, layout: EnvironmentLayout, txn: Path, plan: _Plan, op: str
) -> None:
    try:
        key = journal.environment_key(_state_dir(env), create=True)
    except OSError as exc:
        _remove_txn(txn)
        raise InstallError(
            f"{env.prefix}: cannot write to the environment ({exc.strerror}); nothing was changed"
        ) from exc
    assert key is not None
    doc: dict[str, Any] = {
        "version": journal.JOURNAL_VERSION,
        "op": op,
        "state": "none",
        "displace": plan.displace,
        "place": plan.place,
        "new_dirs": plan.new_dirs,
        "prune_dirs": plan.prune_dirs,
    }
    try:
        _apply(txn, key, doc, plan)
    except BaseException as exc:
        # A Python-level failure (disk full, permission, Ctrl-C): undo now, as recovery would,
        # from the plan in memory (what is on disk is only needed after a SIGKILL).
        if doc["state"] != "committed":
            if doc["state"] == "applying":
                try:
                    _rollback(env, txn, doc, layout, key)
                except StuckTransaction as stuck:
                    raise stuck from exc
            _remove_txn(txn)
            if isinstance(exc, OSError):
                raise InstallError(
                    f"{env.prefix}: {op} failed ({exc}); the environment was restored"
                ) from exc
            raise
        # Past the commit record nothing is undone: finish, then let a Ctrl-C stop the command
        # (it used to be swallowed here, and the command went on as if never interrupted).
        _prune(plan.prune_dirs, layout.roots)
        _remove_txn(txn)
        raise
    _prune(plan.prune_dirs, layout.roots)
    _remove_txn(txn)


# --- install --------------------------------------------------------------------------------


@dataclass
class _Guard:
    """Checks each destination a wheel writes before it is staged (see ``destinations``)."""

    layout: EnvironmentLayout
    wheel: str  # file name, for messages
    dist_info: str  # the wheel's own ``name-version.dist-info``
    written: dict[str, tuple[str, str]]  # target -> (wheel, member) over the whole batch
    member: str | None = None  # archive member being written, or an entry point

    def check(self, target: str, path: str) -> None:
        what = self.member or path
        reason = self.layout.reserved(target)
        metadata = self.layout.metadata_dir(target)
        if reason is None and metadata is not None and metadata != self.dist_info:
            reason = f"inside {metadata}, which is not this wheel's metadata directory"
        if reason is not None:
            raise InstallError(
                f"{self.wheel}: {what!r} would write {target}, {reason}; nothing was installed"
            )
        prior = self.written.get(target)
        if prior is not None and prior[0] != self.wheel:
            raise InstallError(
                f"{self.wheel}: {what!r} would write {target}, which {prior[0]} also writes "
                f"({prior[1]!r}); nothing was installed"
            )
        self.written[target] = (self.wheel, what)


@functools.cache
def _destination_class() -> type:
    from installer.destinations import SchemeDictionaryDestination

    class _Destination(SchemeDictionaryDestination):  # type: ignore[misc]
        guard: _Guard | None = None
        link_mode: str = "copy"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.made: set[str] = set()  # directories known to exist in staging
            self.bases: dict[str, str] = {}  # scheme -> its absolute directory

        def write_file(self, scheme: Any, path: Any, stream: Any, is_executable: bool) -> Any:
            # Files in the scripts scheme are commands: executable even when the archive lost
            # the mode bits (zips written on Windows or by naive tools), as pip does.
            return super().write_file(scheme, path, stream, is_executable or scheme == "scripts")

        def write_script(self, name: str, module: str, attr: str, section: Any) -> Any:
            if self.guard is None:
                return super().write_script(name, module, attr, section)
            self.guard.member = f"{section}_scripts entry point {name}"
            try:
                return super().write_script(name, module, attr, section)
            finally:
                self.guard.member = None

        def write_to_fs(self, scheme: Any, path: str, stream: Any, is_executable: bool) -> Any:
            # Every write (archive members, generated scripts, RECORD, INSTALLER, ...) comes
            # here first: check where it lands before anything is written.
            if self.guard is not None:
                self.guard.check(os.path.normpath(os.path.join(self._base(scheme), path)), path)
            if isinstance(stream, _CachedMember) and scheme != "scripts":
                # an unchanged archive member from the unpacked cache: link it (scripts are
                # always written: their ``#!python`` may have been rewritten for this interpreter)
                from installer.records import Hash, RecordEntry

                target = self._target(scheme, path)
                parent = os.path.dirname(target)
                if parent not in self.made:
                    os.makedirs(parent, exist_ok=True)
                    self.made.add(parent)
                self.link_mode = place(stream.name, target, self.link_mode, stream.executable)
                return RecordEntry(path, Hash("sha256", stream.sha256), stream.size)
            # A later write to a path already staged (varwheel's INSTALLER over one the wheel
            # ships) must replace the file, never write through a link into the cache.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._target(scheme, path))
            return super().write_to_fs(scheme, path, stream, is_executable)

        def _base(self, scheme: Any) -> str:
            base = self.bases.get(scheme)
            if base is None:
                base = self.bases[scheme] = os.path.abspath(self.scheme_dict[scheme])
            return base

        def _target(self, scheme: Any, path: str) -> str:
            # Same contract as installer's ``_path_with_destdir`` (refuse paths escaping the
            # scheme directory, map into destdir) with string operations: installer's pathlib
            # version, and even one Path per file, is a large share of linking a wheel.
            base = self._base(scheme)
            target = os.path.normpath(os.path.join(base, path))
            if not target.startswith(base.rstrip(os.sep) + os.sep):
                raise ValueError(f"Attempting to write {path} outside of the target directory")
            return target if self.destdir is None else self.destdir + target

        def _path_with_destdir(self, scheme: Any, path: str) -> Path:
            # installer's own hook (where a version has it; unused otherwise)
            return Path(self._target(scheme, path))

    return _Destination


@functools.cache
def _source_class() -> type:
    from installer.sources import WheelFile

    class _Source(WheelFile):  # type: ignore[misc]
        """Tells the guard which archive member is being written, for its messages."""

        guard: _Guard | None = None

        def get_contents(self) -> Iterator[Any]:
            for item in super().get_contents():
                if self.guard is not None:
                    self.guard.member = item[0][0]
                yield item
            if self.guard is not None:
                self.guard.member = None

    return _Source


class _CachedMember:
    """A member of the unpacked cache, with what RECORD needs: linking it never opens it; the
    file is opened only when installer reads it (a copy, a script's shebang)."""

    def __init__(self, name: str, sha256: str, size: int, executable: bool) -> None:
        self.name, self.sha256, self.size, self.executable = name, sha256, size, executable
        self._file: io.BufferedReader | None = None

    def _open(self) -> io.BufferedReader:
        if self._file is None:
            self._file = open(self.name, "rb")  # noqa: SIM115 (closed by close())
        return self._file

    def read(self, n: int = -1) -> bytes:
        return self._open().read(n)

    def readline(self, n: int = -1) -> bytes:
        return self._open().readline(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._open().seek(offset, whence)

    def tell(self) -> int:
        return self._open().tell()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@functools.cache
def _cached_source_class() -> type:
    from installer.sources import WheelSource
    from installer.utils import parse_wheel_filename

    class _CachedSource(WheelSource):  # type: ignore[misc]
        """installer's view of a wheel in the unpacked cache (validated when it was filled)."""

        guard: _Guard | None = None

        def __init__(self, unpacked: UnpackedWheel) -> None:
            parsed = parse_wheel_filename(unpacked.checked.path.name)
            super().__init__(distribution=parsed.distribution, version=parsed.version)
            self._unpacked = unpacked

        @property
        def dist_info_dir(self) -> str:
            return self._unpacked.checked.dist_info

        @property
        def dist_info_filenames(self) -> list[str]:
            base = self.dist_info_dir + "/"
            return [m.name[len(base) :] for m in self._unpacked.members if m.name.startswith(base)]

        def read_dist_info(self, filename: str) -> str:
            path = self._unpacked.file(f"{self.dist_info_dir}/{filename}")
            with open(path, "rb") as fh:
                return fh.read().decode("utf-8")

        def get_contents(self) -> Iterator[Any]:
            for member in self._unpacked.members:
                if self.guard is not None:
                    self.guard.member = member.name
                stream = _CachedMember(
                    self._unpacked.file(member.name),
                    member.sha256,
                    member.size,
                    member.executable,
                )
                try:
                    yield (
                        (member.name, f"sha256={member.sha256}", str(member.size)),
                        stream,
                        member.executable,
                    )
                finally:
                    stream.close()
            if self.guard is not None:
                self.guard.member = None

    return _CachedSource


_SHIPPED_BYTECODE = r"Skip installing .*__pycache__/"


def _stage(
    env: TargetEnvironment,
    checked: CheckedWheel,
    staging: Path,
    extra: Mapping[str, bytes],
    compile_bytecode: bool,
    guard: _Guard,
    unpacked: UnpackedWheel | None = None,
    link_mode: str = "copy",
) -> None:
    from installer import install

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
    destination.guard = guard
    destination.link_mode = link_mode
    try:
        with warnings.catch_warnings():
            # installer leaves out bytecode a wheel ships in __pycache__ (Python writes its own)
            # with a RuntimeWarning per file: a source line of ours on stderr at every install
            # of such a wheel (numpy 2.1 ships one), which -q cannot silence
            warnings.filterwarnings("ignore", _SHIPPED_BYTECODE, RuntimeWarning)
            if unpacked is not None:
                source = _cached_source_class()(unpacked)
                source.guard = guard
                install(source, destination, dict(extra))
                return
            with _source_class().open(checked.path) as source:
                source.guard = guard
                install(source, destination, dict(extra))
    except InstallError:
        raise
    except Exception as exc:
        raise InstallError(
            f"{checked.path.name}: could not be unpacked ({exc}); nothing was installed"
        ) from exc


def _refuse_foreign(
    env: TargetEnvironment,
    staging: Path,
    overwritten: Sequence[str],
    replaced_files: Collection[str],
    replaced: Sequence[InstalledDistribution],
    written: Mapping[str, tuple[str, str]],
    current: Mapping[NormalizedName, InstalledDistribution] | None = None,
) -> None:
    """An existing file a wheel would overwrite must belong to the distribution it replaces.
    A file of another installed distribution is refused unless the new one is byte-identical
    (old-style namespace ``__init__.py`` files several distributions ship: both RECORDs then
    list it and it stays until the last of them is uninstalled); a file no distribution owns
    is refused (pip overwrites silently, uv warns; an uninstall could not give it back).
    Bytecode caches (``__pycache__/*.pyc``) are exempt: Python rewrites them anyway."""
    foreign = [
        p
        for p in overwritten
        if p not in replaced_files
        and not (p.endswith(".pyc") and os.path.basename(os.path.dirname(p)) == "__pycache__")
    ]
    if not foreign:
        return
    owners = record_owners(env, exclude={d.name for d in replaced}, dists=current)
    for path in foreign:
        wheel, member = written.get(path, ("a wheel", path))
        owner = owners.get(path)
        if owner is None:
            raise InstallError(
                f"{wheel}: {member!r} would overwrite {path}, which no installed distribution "
                "owns; nothing was installed (move it away first)"
            )
        if not _same_content(_staged(staging, path), path):
            raise InstallError(
                f"{wheel}: {member!r} would overwrite {path}, a file of {owner.display_name} "
                f"{owner.version}; nothing was installed (uninstall {owner.display_name} first)"
            )


def _same_content(a: str, b: str) -> bool:
    try:
        return not os.path.islink(a) and not os.path.islink(b) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def install_wheels(
    env: TargetEnvironment,
    wheels: Sequence[Path | PreparedWheel],
    *,
    upgrade_existing: bool = True,
    requested: Collection[str] = frozenset(),
    direct_urls: Mapping[str, Mapping[str, Any]] | None = None,
    compile_bytecode: bool = False,
    unpacked_cache: UnpackedCache | str | None = "default",
    link_mode: str | None = None,
    forced_variants: Mapping[str, str] | None = None,
) -> InstallResult:
    """Install ``wheels`` into ``env`` atomically: all of them, or none and the env unchanged.

    An installed distribution of the same project is replaced (``upgrade_existing``) or the wheel
    skipped. ``requested`` names get a ``REQUESTED`` file; ``direct_urls`` maps a project name to
    its PEP 610 ``direct_url.json`` document (only for direct URL/path installs, like pip).
    ``forced_variants`` maps a project installed through ``--force-variant`` (a variant the
    target does not support) to why it is unsupported: recorded in its ``FORCED_VARIANT_FILE``.
    ``unpacked_cache`` (``"default"``: under varwheel's cache root; None: none) keeps each wheel
    validated and unpacked once; ``link_mode`` says how its files reach the environment
    (``install.unpacked``; default ``$VARWHEEL_LINK_MODE`` or ``hardlink``). A
    ``PreparedWheel`` (``install.unpacked.prepare_wheels``, which the caller may have verified)
    is installed as validated, without opening its archive again. Under the lock the
    environment is scanned once (``installed_distributions``); the RECORD owners an upgrade
    or an overwrite is checked against come from that scan.
    """
    requested_names = {canonicalize_name(n) for n in requested}
    urls = {canonicalize_name(k): v for k, v in (direct_urls or {}).items()}
    forced = {canonicalize_name(k): v for k, v in (forced_variants or {}).items()}
    mode = link_mode_from(link_mode)
    cache = default_unpacked_cache() if unpacked_cache == "default" else unpacked_cache
    assert not isinstance(cache, str)
    paths = [Path(w) for w in wheels if not isinstance(w, PreparedWheel)]
    fresh = iter(prepare_wheels(paths, cache))
    prepared = [w if isinstance(w, PreparedWheel) else next(fresh) for w in wheels]
    checked = [p.checked for p in prepared]
    entries = {p.checked.path: p.unpacked for p in prepared}
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

        layout = EnvironmentLayout.of(env)
        txn = _txn_dir(env)
        staging = txn / "staging"
        staging.mkdir(parents=True)
        try:
            written: dict[str, tuple[str, str]] = {}
            for c in todo:
                extra = {"INSTALLER": INSTALLER_NAME}
                if c.project in requested_names:
                    extra["REQUESTED"] = b""
                if c.project in urls:
                    extra["direct_url.json"] = json.dumps(urls[c.project], sort_keys=True).encode()
                if c.project in forced:
                    extra[FORCED_VARIANT_FILE] = forced_variant_document(forced[c.project])
                guard = _Guard(layout, c.path.name, c.dist_info, written)
                _stage(env, c, staging, extra, compile_bytecode, guard, entries.get(c.path), mode)
            plan = _Plan()
            displaced = _removable(env, layout, replaced, None, current) if replaced else {}
            plan.place, overwritten = _placement(staging, written)
            _refuse_foreign(env, staging, overwritten, displaced, replaced, written, current)
            for path in overwritten:
                displaced[path] = None
            plan.prune_dirs = sorted({os.path.dirname(p) for p in displaced})
            plan.displace = _whole_dirs(list(displaced), [str(d) for d in env.site_dirs])
        except BaseException:
            shutil.rmtree(txn, ignore_errors=True)
            raise
        _run_plan(env, layout, txn, plan, "install")

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
                dist_info=Path(env.purelib if c.root_is_purelib else env.platlib) / c.dist_info,
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
    a distribution without RECORD is an ``InstallError`` and nothing is removed. Files another
    installed distribution's RECORD also lists, and reserved paths, are kept."""
    wanted = list(dict.fromkeys(canonicalize_name(n) for n in names))
    with environment_lock(env):
        recovered = recover(env)
        current = installed_distributions(env)
        targets = [current[n] for n in wanted if n in current]
        missing = tuple(n for n in wanted if n not in current)
        layout = EnvironmentLayout.of(env)
        plan = _Plan()
        kept: dict[str, str] = {}
        displaced = _removable(env, layout, targets, kept, current)
        plan.prune_dirs = sorted({os.path.dirname(p) for p in displaced})
        plan.displace = _whole_dirs(list(displaced), [str(d) for d in env.site_dirs])
        if plan.displace:
            txn = _txn_dir(env)
            txn.mkdir(parents=True)
            _run_plan(env, layout, txn, plan, "uninstall")
    return UninstallResult(
        removed=tuple((d.name, d.version) for d in targets),
        missing=missing,
        recovered=recovered,
        kept=tuple(kept.items()),
    )


def recover_if_needed(env: TargetEnvironment) -> str | None:
    """``recover`` under the lock, taken only when a leftover transaction exists (cheap check,
    so read-only commands such as ``list`` work in environments they cannot write to)."""
    if not os.path.lexists(_txn_dir(env)) and not os.path.lexists(_leftovers_dir(env)):
        return None
    with environment_lock(env):
        return recover(env)
