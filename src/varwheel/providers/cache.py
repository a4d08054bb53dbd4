"""On-disk cache of provider answers and plugin environments (PEP 817 §"Caching" allows
caching ``get_supported_configs()`` across packages of a session; we also keep it across runs).

The key covers everything an answer depends on, unlike variantlib's per-process table keyed
without interpreter or environment (peers.md §5.1): provider identity and version, the TARGET
interpreter, the values of the provider's override environment variables and a cheap hardware
fingerprint. Entries also expire after ``max_age`` seconds (driver upgrades that the fingerprint
does not see). Writes are atomic (temp file + rename), so concurrent runs never read torn files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from varwheel.cachedir import CACHE_ENV as CACHE_ENV  # re-exported
from varwheel.cachedir import cache_root as cache_root  # re-exported
from varwheel.errors import CacheBusy
from varwheel.fsutil import atomic_write

ANSWERS = "provider-answers"
PLUGIN_ENVS = "plugin-envs"
PLUGIN_LOCKS = "plugin-locks"  # recorded wheel hashes of trusted pins (pinlock.py)
DEFAULT_MAX_AGE = 24 * 3600.0
_FORMAT = 1
_CLOCK_SLACK = 300.0


@dataclass(frozen=True)
class InterpreterId:
    """The target interpreter an answer is for."""

    implementation: str
    version: str
    executable: str


def answer_key(
    *,
    provider: str,
    version: str,
    interpreter: InterpreterId,
    env_values: Mapping[str, str | None],
    fingerprint: str,
) -> str:
    """Hex digest identifying one provider answer."""
    payload = {
        "format": _FORMAT,
        "provider": provider,
        "version": version,
        "interpreter": [interpreter.implementation, interpreter.version, interpreter.executable],
        "env": sorted(env_values.items(), key=lambda kv: kv[0]),
        "fingerprint": fingerprint,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CachePart:
    """One kind of cached thing: its folder under the cache root, entry count and bytes."""

    name: str  # stable key (``--json``)
    label: str  # what a user reads
    path: Path
    entries: int
    size_bytes: int


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    answers: int
    plugin_envs: int
    size_bytes: int
    parts: tuple[CachePart, ...] = ()
    kept: tuple[Path, ...] = ()  # after ``clear_cache``: entries it failed to remove
    foreign: int = 0  # after ``clear_cache`` of an unmarked directory: entries left alone

    def part(self, name: str) -> CachePart:
        return next(p for p in self.parts if p.name == name)


@dataclass(frozen=True)
class AnswerCache:
    """Provider answers stored as one JSON file per key under ``root/provider-answers``."""

    root: Path
    max_age: float = DEFAULT_MAX_AGE

    def _path(self, key: str) -> Path:
        return self.root / ANSWERS / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The stored value, or None when absent, expired or unreadable."""
        try:
            doc = json.loads(self._path(key).read_bytes())
        except (OSError, ValueError, RecursionError):  # ValueError: also a 4300+ digit integer
            return None
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            return None
        created = doc.get("created")
        if isinstance(created, bool) or not isinstance(created, (int, float)):
            return None
        # ``not (a <= b)`` also rejects NaN; an entry from the future (clock change) is stale too
        if not (-_CLOCK_SLACK <= time.time() - created <= self.max_age):
            return None
        return doc.get("value")

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable); failures to write are ignored (cache only)."""
        doc = {"format": _FORMAT, "created": time.time(), "value": value}
        mark_cache_dir(self.root)
        with contextlib.suppress(OSError):
            atomic_write(self._path(key), json.dumps(doc, sort_keys=True).encode())


# Every folder varwheel keeps under the cache root, with how an entry is counted. The index
# client's ``index/`` holds ``http/`` (pages, ``.metadata``, ``*-variants.json``) and ``wheels/``.
UNPACKED = "unpacked"
INTERPRETERS = "interpreters"
STARTUP = "startup"  # varwheel.codecache
_INDEX_HTTP = Path("index") / "http"
_INDEX_WHEELS = Path("index") / "wheels"
_PARTS: tuple[tuple[str, str, Path], ...] = (
    ("unpacked_wheels", "unpacked wheels", Path(UNPACKED)),
    ("downloaded_wheels", "downloaded wheels", _INDEX_WHEELS),
    ("http_pages", "HTTP pages", _INDEX_HTTP),
    ("provider_answers", "provider answers", Path(ANSWERS)),
    ("plugin_envs", "plugin venvs", Path(PLUGIN_ENVS)),
    ("plugin_locks", "plugin pins", Path(PLUGIN_LOCKS)),
    ("interpreter_facts", "interpreter facts", Path(INTERPRETERS)),
    ("startup_code", "compiled start-up code", Path(STARTUP)),
)
# Names varwheel creates at the root: a directory holding only these is ours even untagged.
_OURS = frozenset(
    {ANSWERS, PLUGIN_ENVS, PLUGIN_LOCKS, UNPACKED, INTERPRETERS, STARTUP, "index", ".lock"}
)
# Names distinctive enough to remove from a directory that is not recognisably ours.
_DISTINCTIVE = (ANSWERS, PLUGIN_ENVS, PLUGIN_LOCKS)


def _walk_size(path: Path) -> tuple[int, int]:
    """(files, bytes) under ``path`` without following symbolic links (``lstat`` sizes)."""
    files = size = 0
    try:
        st = os.lstat(path)
    except OSError:
        return 0, 0
    if not stat.S_ISDIR(st.st_mode):
        return 1, st.st_size
    for dirpath, dirs, names in os.walk(path):  # os.walk does not descend into symlinked dirs
        for name in names + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
    return files, size


def _count(name: str, path: Path) -> int:
    """Entries of one part: an unpacked wheel or plugin venv is a folder, a downloaded wheel a
    ``.whl`` file, a page / answer / fact one file; temporary and trash files do not count."""
    if not path.is_dir() or path.is_symlink():
        return 0
    if name in ("unpacked_wheels", "plugin_envs"):
        with contextlib.suppress(OSError):
            return sum(1 for p in path.iterdir() if not p.name.startswith(".") and _is_real_dir(p))
        return 0
    n = 0
    for dirpath, _dirs, names in os.walk(path):
        for fname in names:
            if fname.startswith(".") or os.path.islink(os.path.join(dirpath, fname)):
                continue
            if name == "downloaded_wheels" and not fname.endswith(".whl"):
                continue
            n += 1
    return n


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def cache_info(root: Path) -> CacheInfo:
    """Location, entry counts and sizes of every part of the cache (symlinks never followed)."""
    parts = []
    for name, label, rel in _PARTS:
        path = root / rel
        _files, size = _walk_size(path)
        parts.append(CachePart(name, label, path, _count(name, path), size))
    _files, total = _walk_size(root) if _is_real_dir(root) else (0, 0)
    known = sum(p.size_bytes for p in parts) + sum(
        _walk_size(root / name)[1] for name in (_TAG, ".lock")
    )
    if total > known:  # files outside the known parts: temp files, another tool's
        parts.append(CachePart("other", "other files", root, 0, total - known))
    by_name = {p.name: p for p in parts}
    return CacheInfo(
        root,
        by_name["provider_answers"].entries,
        by_name["plugin_envs"].entries,
        total,
        tuple(parts),
    )


_TAG = "CACHEDIR.TAG"
_TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file marks the varwheel cache directory (https://bford.info/cachedir/).\n"
)


def mark_cache_dir(root: Path) -> None:
    """Write the standard CACHEDIR.TAG so backup tools skip the cache and ``clear`` may empty it."""
    tag = root / _TAG
    if not tag.exists():
        with contextlib.suppress(OSError):
            atomic_write(tag, _TAG_TEXT.encode())


# One descriptor of ``<root>/.lock`` per cache root per process, held shared from the first use
# of unpacked wheels or plugin venvs until the process ends: ``cache clear`` in another process
# then refuses (``CacheBusy``) instead of pulling files from under a running install. Within one
# process ``clear_cache`` converts this same lock (flock locks of two descriptors would conflict).
_HELD: dict[Path, int] = {}
_MAX_HELD = 16


def _lock_fd(root: Path) -> int | None:
    fd = _HELD.get(root)
    if fd is not None:
        return fd
    while len(_HELD) >= _MAX_HELD:  # a process with many roots (a test run): keep the newest
        os.close(_HELD.pop(next(iter(_HELD))))
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        return None  # an unwritable cache: nothing to protect, nothing locked
    _HELD[root] = fd
    return fd


def hold_cache(root: Path) -> None:
    """Hold ``root``'s cache lock shared for the rest of this process (POSIX ``flock``; a no-op
    elsewhere or where the root cannot be written). Waits while a ``cache clear`` runs."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    fd = _lock_fd(root)
    if fd is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_SH)


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """``root``'s cache lock exclusively (``CacheBusy`` at once if another process holds it),
    back to shared afterwards when this process held it before."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    held = root in _HELD
    fd = _lock_fd(root)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise CacheBusy(
            f"{root}: another varwheel is using the cache; run `varwheel cache clear` again "
            "when it has finished"
        ) from None
    try:
        yield
    finally:
        if held:
            fcntl.flock(fd, fcntl.LOCK_SH)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(_HELD.pop(root))


def _is_ours(root: Path) -> bool:
    """Tagged with our CACHEDIR.TAG, or holding nothing but the folders varwheel creates."""
    tag = root / _TAG
    with contextlib.suppress(OSError):
        if tag.is_file() and not tag.is_symlink() and tag.read_text(errors="replace") == _TAG_TEXT:
            return True
    try:
        names = {p.name for p in root.iterdir()}
    except OSError:
        return False
    if not names or not names <= _OURS | {_TAG}:
        return False
    try:  # ``index`` is a common name: ours holds only the client's two folders
        inside = {p.name for p in (root / "index").iterdir()} if "index" in names else set()
    except OSError:
        return False
    return inside <= {"http", "wheels"}


def _remove(entry: Path, root: Path) -> None:
    """Remove one entry of the cache root, never following a symbolic link out of it: a link
    (or file) is unlinked; a folder is first renamed aside in one step, so a concurrent reader
    sees it whole or not at all, then deleted (``shutil.rmtree`` does not follow links)."""
    try:
        st = os.lstat(entry)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        entry.unlink()
        return
    aside = root / f".trash-{entry.name[:24]}-{os.getpid()}-{time.monotonic_ns()}"
    os.rename(entry, aside)

    def _writable(_func: Any, path: str, _exc: Any) -> None:
        # a read-only folder (unpacked entries can be) refuses its files' removal: open it up
        # and retry once; never chmod through a link
        parent = os.path.dirname(path)
        if not os.path.islink(parent):
            os.chmod(parent, 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(aside, onexc=_writable)
        else:  # Python 3.10/3.11
            shutil.rmtree(aside, onerror=_writable)
    except OSError:
        shutil.rmtree(aside, ignore_errors=True)


def clear_cache(root: Path) -> CacheInfo:
    """Empty the cache; returns what was removed, measured (``kept`` names what is still there).

    A directory that is recognisably varwheel's (our CACHEDIR.TAG, or only folders we create)
    is emptied entirely; any other directory (a mistaken ``VARWHEEL_CACHE_DIR``) only loses the
    distinctively named folders we create. Nothing outside ``root`` is touched: symbolic links
    are removed, never followed. Raises ``CacheBusy`` while another varwheel holds the lock.
    """
    before = cache_info(root)
    if not _is_real_dir(root):
        return before
    ours = _is_ours(root)
    # an unmarked directory (``$HOME`` by mistake) gets no lock file of ours either
    with _exclusive(root) if ours else contextlib.nullcontext():
        present = [p for p in root.iterdir() if p.name not in (_TAG, ".lock")]
        entries = present if ours else [root / name for name in _DISTINCTIVE]
        for entry in entries:
            with contextlib.suppress(OSError):
                _remove(entry, root)
    after = cache_info(root)
    left = {p.name: p for p in after.parts}
    removed = tuple(
        CachePart(
            p.name,
            p.label,
            p.path,
            p.entries - left[p.name].entries if p.name in left else p.entries,
            p.size_bytes - left[p.name].size_bytes if p.name in left else p.size_bytes,
        )
        for p in before.parts
    )
    kept = tuple(sorted(p for p in entries if os.path.lexists(p)))
    return CacheInfo(
        root,
        before.answers - after.answers,
        before.plugin_envs - after.plugin_envs,
        max(0, before.size_bytes - after.size_bytes),
        removed,
        kept,
        len([p for p in present if p not in entries]),
    )
