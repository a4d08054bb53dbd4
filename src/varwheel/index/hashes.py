"""Hash checking of downloaded bytes against the digests an index published."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from varwheel.errors import HashMismatch
from varwheel.index.models import PREFERRED_HASHES


def pick_hash(hashes: Mapping[str, str]) -> tuple[str, str] | None:
    """The strongest published ``(algorithm, hexdigest)`` we check, or None when there is none."""
    for name in PREFERRED_HASHES:
        if name in hashes:
            return name, hashes[name]
    for name, value in sorted(hashes.items()):
        if name in hashlib.algorithms_guaranteed:
            return name, value
    return None


def mismatch(what: str, algorithm: str, expected: str, got: str) -> HashMismatch:
    return HashMismatch(f"{what}: {algorithm} hash mismatch: expected {expected}, got {got}")


def check_bytes(data: bytes, hashes: Mapping[str, str], what: str) -> None:
    picked = pick_hash(hashes)
    if picked is None:
        return
    algorithm, expected = picked
    got = hashlib.new(algorithm, data).hexdigest()
    if got != expected.lower():
        raise mismatch(what, algorithm, expected, got)


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()
