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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from varwheel.fsutil import atomic_write

CACHE_ENV = "VARWHEEL_CACHE_DIR"
ANSWERS = "provider-answers"
PLUGIN_ENVS = "plugin-envs"
PLUGIN_LOCKS = "plugin-locks"  # recorded wheel hashes of trusted pins (pinlock.py)
DEFAULT_MAX_AGE = 24 * 3600.0
_FORMAT = 1
_CLOCK_SLACK = 300.0


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$VARWHEEL_CACHE_DIR``, else the platform user cache dir of ``varwheel``."""
    env = os.environ if environ is None else environ
    override = env.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("varwheel", appauthor=False))


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
class CacheInfo:
    location: Path
    answers: int
    plugin_envs: int
    size_bytes: int


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


def cache_info(root: Path) -> CacheInfo:
    """Location, entry counts and total size of the cache."""
    answers = root / ANSWERS
    envs = root / PLUGIN_ENVS
    n_answers = sum(1 for p in answers.glob("*.json")) if answers.is_dir() else 0
    n_envs = sum(1 for p in envs.iterdir() if p.is_dir()) if envs.is_dir() else 0
    size = 0
    if root.is_dir():
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                with contextlib.suppress(OSError):
                    size += os.lstat(os.path.join(dirpath, name)).st_size
    return CacheInfo(root, n_answers, n_envs, size)


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


def clear_cache(root: Path) -> CacheInfo:
    """Empty the cache; returns what was there.

    A directory carrying our CACHEDIR.TAG is emptied entirely (index downloads included); any
    other directory (a mistaken ``VARWHEEL_CACHE_DIR``) only loses the subfolders we create.
    """
    before = cache_info(root)
    if not root.is_dir():
        return before
    tag = root / _TAG
    ours = tag.is_file() and tag.read_text(errors="replace") == _TAG_TEXT
    entries = (
        [p for p in root.iterdir() if p.name != _TAG]
        if ours
        else [root / ANSWERS, root / PLUGIN_ENVS, root / PLUGIN_LOCKS]
    )
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
    return before
