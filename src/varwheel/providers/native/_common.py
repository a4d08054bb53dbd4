"""Shared by the native providers: their common shape, override variables and fingerprints."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import ClassVar

from varwheel.providers.base import FeatureConfig


class NativeProvider:
    """The class attributes of the ``Provider`` protocol and ``get_all_configs``; subclasses
    (frozen dataclasses) answer ``get_supported_configs`` and ``fingerprint``."""

    namespace: ClassVar[str]
    version: ClassVar[str]  # of the published plugin answered like
    distributions: ClassVar[tuple[str, ...]]
    plugin_apis: ClassVar[tuple[str, ...]]
    all_configs: ClassVar[tuple[FeatureConfig, ...]]
    is_static: ClassVar[bool] = False
    override_env_vars: ClassVar[tuple[str, ...]] = ()

    def get_all_configs(self) -> tuple[FeatureConfig, ...]:
        return self.all_configs


def plugin_api_names(package: str, plugin_class: str, *aliases: str) -> tuple[str, ...]:
    """The ``plugin-api`` spellings of a published plugin: ``package.plugin:Class``, the bare
    module (what PEP 817 infers from ``requires``), and module names of renamed distributions."""
    return (f"{package}.plugin:{plugin_class}", package, *aliases)


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
