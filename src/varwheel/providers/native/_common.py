"""Small helpers shared by the native providers: override variables and fingerprints."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from varwheel.providers.base import FeatureConfig


def environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    """The injected environment, or the live process environment."""
    return os.environ if env is None else env


def forced(env: Mapping[str, str], name: str) -> str | None:
    """An override variable's value; unset and empty both mean "not forced", as in the plugins."""
    value = env.get(name, "").strip()
    return value or None


def on_features(names: Iterable[str]) -> tuple[FeatureConfig, ...]:
    """ISA flags as single-valued features whose only value is ``on``."""
    return tuple(FeatureConfig(name, ("on",)) for name in names)


def file_fact(path: Path) -> str:
    """``path`` with its size and mtime, or ``-`` when absent: changes when the file does."""
    try:
        st = path.stat()
    except OSError:
        return f"{path}:-"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def read_fact(path: Path, limit: int = 65536) -> str:
    """The first ``limit`` bytes of a small text file (sysfs, version files), or ``-``."""
    try:
        with path.open("rb") as handle:
            return f"{path}={handle.read(limit).decode('utf-8', 'replace')}"
    except OSError:
        return f"{path}=-"


def glob_fact(directory: Path, pattern: str) -> str:
    """Sorted names matching ``pattern`` in ``directory`` (device nodes, sysfs entries)."""
    try:
        names = sorted(p.name for p in directory.glob(pattern))
    except OSError:
        names = []
    return f"{directory}/{pattern}:{','.join(names)}"


def library_facts() -> list[str]:
    """What decides which vendor library ``ctypes`` loads: the linker cache and search path."""
    return [
        file_fact(Path("/etc/ld.so.cache")),
        f"LD_LIBRARY_PATH={os.environ.get('LD_LIBRARY_PATH', '')}",
    ]


def digest(namespace: str, version: str, facts: Iterable[str]) -> str:
    """A stable hex digest of a provider's facts."""
    h = hashlib.sha256(f"{namespace}\0{version}\0".encode())
    for fact in facts:
        h.update(fact.encode("utf-8", "replace"))
        h.update(b"\0")
    return h.hexdigest()
