"""The unpacked-wheel cache: each wheel validated and unpacked once, then linked into environments.

Layout: ``<cache root>/unpacked/<sha256 of the wheel file>-<16 hex of its name's sha256>/`` holds ``manifest.json`` and
``files/<archive member>``. An entry is filled by ``wheelcheck.check_wheel(..., unpack_to=)``
(the full streaming validation, writing each member as it is hashed) into a temporary directory
next to it, which is renamed into place: an entry either exists whole or not at all, a hostile
wheel leaves nothing, and concurrent fillers of one wheel race to the rename harmlessly. Once
filled, an entry is trusted as validated (the key is the hash of the wheel's own bytes).

Files in the cache are read-only (``0o444``, ``0o555`` when executable). How they reach the
staging area of a transaction is the *link mode* (``VARWHEEL_LINK_MODE``, like uv's
``--link-mode``):

- ``hardlink`` (default): ``os.link``, falling back to a copy where the cache and the environment
  are on different file systems (or links are refused). The installed file *is* the cached
  file, so it stays read-only: an in-place edit by a normal user fails instead of changing every
  environment that links it (a tool that saves by writing a new file and renaming it breaks the
  link and changes only its own environment). root ignores permission bits: as root, an in-place
  edit of a linked file changes the cache and every environment linked to it (uv documents the
  same hazard); use ``copy`` where that matters.
- ``clone``: a copy-on-write clone (``FICLONE``: Btrfs, XFS, bcachefs...), a copy elsewhere;
  writable, independent files.
- ``copy``: plain copies (pip's behaviour); writable, independent files.

``symlink`` is deliberately not offered: an installed file would point into the cache, so an
edit, a cache clean or a moved cache would break or change environments behind varwheel's back.

Only archive members are ever linked. Files written per install (RECORD, INSTALLER, REQUESTED,
``direct_url.json``) and scripts (entry points, ``.data/scripts`` whose ``#!python`` names the
TARGET interpreter) are always written anew, never shared.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from varwheel.errors import InvalidInput
from varwheel.install.wheelcheck import (
    CheckedWheel,
    UnpackedMember,
    UnpackFailed,
    check_wheel,
)
from varwheel.spec.filenames import parse_wheel_filename
from varwheel.wheelzip import MAX_METADATA_SIZE

__all__ = [
    "DEFAULT_LINK_MODE",
    "LINK_MODES",
    "LINK_MODE_ENV",
    "PreparedWheel",
    "UnpackedCache",
    "UnpackedWheel",
    "default_unpacked_cache",
    "link_mode_from",
    "prepare_wheels",
]

LINK_MODES = ("hardlink", "clone", "copy")
DEFAULT_LINK_MODE = "hardlink"
LINK_MODE_ENV = "VARWHEEL_LINK_MODE"
MANIFEST = "manifest.json"
FILES = "files"
_FORMAT = 1
# A temp or trash directory this old was left by a killed run (a fill takes well under this).
_STALE_S = 3600.0


def link_mode_from(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``value``, else ``$VARWHEEL_LINK_MODE``, else ``hardlink``; anything else is InvalidInput."""
    env = os.environ if environ is None else environ
    mode = value or env.get(LINK_MODE_ENV) or DEFAULT_LINK_MODE
    if mode not in LINK_MODES:
        raise InvalidInput(f"link mode {mode!r}: must be one of {', '.join(LINK_MODES)}")
    return mode


def default_unpacked_cache() -> UnpackedCache:
    """``<varwheel cache root>/unpacked`` (``$VARWHEEL_CACHE_DIR`` moves it)."""
    from varwheel.providers.cache import cache_root, hold_cache, mark_cache_dir

    root = cache_root()
    mark_cache_dir(root)  # so ``varwheel cache clear`` empties ``unpacked`` too
    hold_cache(root)  # ... but refuses while this process may still link from it
    return UnpackedCache(root / "unpacked")


@dataclass(frozen=True)
class UnpackedWheel:
    """A validated wheel in the cache: ``checked.path`` is the wheel given (for messages)."""

    entry: Path
    checked: CheckedWheel
    members: tuple[UnpackedMember, ...]

    def file(self, member: str) -> str:
        return os.path.join(self.entry, FILES, *member.split("/"))


@dataclass(frozen=True)
class PreparedWheel:
    """A wheel validated once for an install: ``checked`` (what its archive declares) and its
    cache entry ``unpacked`` (None: installed from the archive, no usable cache). Verification
    reads its dist-info files here (``dist_info_file``), installation links from the entry: the
    archive is opened once per install (to fill the cache), a cached wheel not at all."""

    checked: CheckedWheel
    unpacked: UnpackedWheel | None = None

    @property
    def path(self) -> Path:
        return self.checked.path

    def dist_info_file(self, name: str) -> bytes | None:
        """``METADATA``, ``variant.json`` (any file validation reads whole) of the wheel's
        ``*.dist-info``, or None when the wheel has none: as read by this validation, else from
        the cache entry (validated when it was filled; bounded the same way)."""
        checked = self.checked
        if checked.dist_info_files is not None:
            return checked.dist_info_files.get(name)
        if self.unpacked is None:
            return None
        member = f"{checked.dist_info}/{name}"
        if not any(m.name == member for m in self.unpacked.members):
            return None
        with open(self.unpacked.file(member), "rb") as fh:
            return fh.read(MAX_METADATA_SIZE)  # the entry's files passed that bound


def prepare_wheels(wheels: Sequence[Path], cache: UnpackedCache | None) -> list[PreparedWheel]:
    """Validate every wheel once, filling ``cache`` (None: validate in place); several at once:
    zlib and hashlib release the GIL, so big wheels overlap. The first failure in the order
    given is raised (an ``InstallError`` naming the wheel), as one by one."""

    def one(path: Path) -> PreparedWheel:
        if cache is None:
            return PreparedWheel(check_wheel(path))
        return PreparedWheel(*cache.prepare(path))

    if len(wheels) < 2:
        return [one(w) for w in wheels]
    from concurrent.futures import wait

    from varwheel.threads import DaemonExecutor

    pool = DaemonExecutor(min(len(wheels), os.cpu_count() or 1, 8), "varwheel-unpack")
    futures = [pool.submit(one, Path(w)) for w in wheels]
    try:
        wait(futures)
    finally:
        pool.shutdown(wait=False)
    return [f.result() for f in futures]


def _wheel_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


class UnpackedCache:
    """Unpacked wheels keyed by the sha256 of the wheel file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._swept = False

    def _sweep(self) -> None:
        """Remove what killed runs left (``.tmp-*``, ``.trash-*`` older than an hour), once."""
        if self._swept:
            return
        self._swept = True
        cutoff = time.time() - _STALE_S
        with contextlib.suppress(OSError), os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith((".tmp-", ".trash-")):
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            _remove_tree(Path(entry.path))

    def prepare(self, wheel: Path) -> tuple[CheckedWheel, UnpackedWheel | None]:
        """The validated wheel, and its cache entry (filled now if missing). Without a usable
        cache (not writable, full) the wheel is validated in place and the entry is None; an
        invalid wheel raises ``InstallError`` exactly as ``check_wheel`` does."""
        wheel = Path(wheel)
        try:
            key = _wheel_sha256(wheel)
        except OSError:
            return check_wheel(wheel), None  # check_wheel says why, in its one line
        # the name is part of the key: validation checks the name against the archive, so the
        # same bytes under another name (a relabelled copy) are another entry, not a miss forever
        entry = self.root / f"{key}-{hashlib.sha256(wheel.name.encode()).hexdigest()[:16]}"
        found = self._load(entry, wheel)
        if found is not None:
            return found.checked, found
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._sweep()
            tmp = self.root / f".tmp-{key[:16]}-{os.getpid()}-{time.monotonic_ns()}"
            tmp.mkdir()
        except OSError:
            return check_wheel(wheel), None
        try:
            try:
                checked = check_wheel(wheel, unpack_to=tmp / FILES)
            except UnpackFailed:
                _remove_tree(tmp)
                return check_wheel(wheel), None
            manifest = {
                "format": _FORMAT,
                "filename": wheel.name,
                "name": checked.name,
                "version": checked.version,
                "dist_info": checked.dist_info,
                "root_is_purelib": checked.root_is_purelib,
                "members": [[m.name, m.sha256, m.size, m.executable] for m in checked.unpacked],
            }
            try:
                (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
                os.rename(tmp, entry)
            except OSError as exc:
                _remove_tree(tmp)
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    return checked, None  # validated; installed from the archive
                found = self._load(entry, wheel)  # another process filled it first
                return checked, found
        except BaseException:
            _remove_tree(tmp)
            raise
        return checked, UnpackedWheel(entry, checked, checked.unpacked)

    def _load(self, entry: Path, wheel: Path) -> UnpackedWheel | None:
        try:
            doc = json.loads((entry / MANIFEST).read_bytes())
        except FileNotFoundError:
            if os.path.lexists(entry):
                self._discard(entry)  # not an entry this code wrote: refill
            return None
        except (OSError, ValueError):
            self._discard(entry)
            return None
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            self._discard(entry)
            return None
        if doc.get("filename") != wheel.name:
            return None  # the same bytes under another name: validate that name in place
        try:
            members = tuple(
                UnpackedMember(str(n), str(h), int(s), bool(x)) for n, h, s, x in doc["members"]
            )
            checked = CheckedWheel(
                path=wheel,
                filename=parse_wheel_filename(wheel.name),
                name=str(doc["name"]),
                project=parse_wheel_filename(wheel.name).project,
                version=str(doc["version"]),
                dist_info=str(doc["dist_info"]),
                root_is_purelib=bool(doc["root_is_purelib"]),
                label=parse_wheel_filename(wheel.name).label,
                members=len(members),
                unpacked=members,
            )
        except (KeyError, TypeError, ValueError):
            self._discard(entry)
            return None
        return UnpackedWheel(entry, checked, members)

    def _discard(self, entry: Path) -> None:
        """Move a damaged entry aside (one rename, so readers never see it half-deleted)."""
        aside = self.root / f".trash-{entry.name[:16]}-{os.getpid()}-{time.monotonic_ns()}"
        with contextlib.suppress(OSError):
            os.rename(entry, aside)
            _remove_tree(aside)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- placing one cached file ------------------------------------------------------------------

_FICLONE = 0x40049409  # linux/fs.h _IOW(0x94, 9, int)


def place(source: str, target: str, mode: str, executable: bool) -> str:
    """Put the cached file ``source`` at the new path ``target`` by ``mode``; returns the mode
    actually used (``copy`` where a link or clone is not possible here)."""
    if mode == "hardlink":
        try:
            os.link(source, target, follow_symlinks=False)
            return "hardlink"
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
    elif mode == "clone" and _clone(source, target, executable):
        return "clone"
    shutil.copyfile(source, target, follow_symlinks=False)
    os.chmod(target, 0o755 if executable else 0o644)
    return "copy"


def _clone(source: str, target: str, executable: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755 if executable else 0o644)
        try:
            fcntl.ioctl(dst, _FICLONE, src)
        except OSError:
            os.close(dst)
            os.unlink(target)
            return False
        os.close(dst)
        return True
    finally:
        os.close(src)
