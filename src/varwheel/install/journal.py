"""The transaction journal, authenticated as varwheel's own.

``<prefix>/.varwheel/txn/journal.json`` says what an install/uninstall moves (``displace``,
``place``, ``new_dirs``, ``prune_dirs``: absolute paths) and how far it got (``state``). It
carries ``mac`` = HMAC-SHA256 over the canonical JSON of everything else, keyed by
``<prefix>/.varwheel/key``: 32 random bytes made once per environment (mode 0600, never
through a symlink) under the environment lock.

Why a key inside the environment rather than in the user's cache directory: the state directory
is unreachable by wheel members (``destinations.EnvironmentLayout.reserved``), the key must
survive a cleared cache and work for whoever recovers the environment next (another user, sudo),
and a journal copied from another environment, left by another tool or written by an older
varwheel does not verify. Whoever can write ``.varwheel`` already has the environment's files;
that is not a threat this can stop, so recovery ALSO checks every path it is about to touch
(``EnvironmentLayout.contains``) and acts on none of them if one fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["JOURNAL_NAME", "JOURNAL_VERSION", "JournalRejected", "environment_key", "read", "write"]

JOURNAL_NAME = "journal.json"
JOURNAL_VERSION = 2
KEY_NAME = "key"
_KEY_SIZE = 32
_MAX_JOURNAL = 256 * 1024 * 1024
_STATES = frozenset({"applying", "restoring", "committed"})
_LISTS = ("displace", "place", "new_dirs", "prune_dirs")


class JournalRejected(Exception):
    """The journal is not one to act on; ``str`` is the reason (internal, never shown bare)."""


def environment_key(state_dir: Path, *, create: bool) -> bytes | None:
    """The environment's journal key; made when missing and ``create`` (call under the lock).
    None when there is none (or it is not a plain 32-byte file)."""
    path = state_dir / KEY_NAME
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if not create:
            return None
        key = secrets.token_bytes(_KEY_SIZE)
        tmp = state_dir / f"{KEY_NAME}.tmp"
        with open(tmp, "wb", opener=lambda p, _f: _create(p)) as f:
            f.write(key)
        os.replace(tmp, path)
        return key
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _KEY_SIZE + 1)
    finally:
        os.close(fd)
    return data if len(data) == _KEY_SIZE else None


def _create(path: str) -> int:
    with_nofollow = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, with_nofollow, 0o600)


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def write(txn: Path, key: bytes, doc: Mapping[str, Any]) -> None:
    """Write ``doc`` (without ``mac``) signed, atomically (tmp + rename)."""
    body = {k: v for k, v in doc.items() if k != "mac"}
    signed = {**body, "mac": _mac(key, body)}
    tmp = txn / f"{JOURNAL_NAME}.tmp"
    # Atomic replace, no fsync: this protects against the process dying (SIGKILL, Ctrl-C, crash),
    # whose writes the kernel keeps; surviving power loss would need every installed file synced
    # too, which neither pip nor uv do.
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(signed, f, ensure_ascii=True)
    os.replace(tmp, txn / JOURNAL_NAME)


def read(txn: Path, key: bytes | None) -> dict[str, Any]:
    """The verified journal in ``txn``. FileNotFoundError when there is none; JournalRejected
    when it is unreadable, unsigned, signed with another key or malformed."""
    path = txn / JOURNAL_NAME
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise JournalRejected("it is not a plain file")
        raw = f.read(_MAX_JOURNAL + 1)
    if len(raw) > _MAX_JOURNAL:
        raise JournalRejected("it is too large")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise JournalRejected("it is not valid JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("mac"), str):
        raise JournalRejected("it carries no signature")
    if key is None:
        raise JournalRejected(f"the environment has no journal key ({KEY_NAME})")
    body = {k: v for k, v in doc.items() if k != "mac"}
    if not hmac.compare_digest(doc["mac"], _mac(key, body)):
        raise JournalRejected("its signature does not match this environment's key")
    if body.get("version") != JOURNAL_VERSION or body.get("state") not in _STATES:
        raise JournalRejected("unknown journal version or state")
    if not isinstance(body.get("op"), str):
        raise JournalRejected("no operation named")
    for name in _LISTS:
        value = body.get(name)
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise JournalRejected(f"{name!r} is not a list of paths")
    return body
