"""Native providers: pure-Python re-implementations of the published provider plugins.

One module per namespace. Each answers like the published plugin version it names
(``version``), reads no third-party plugin code, and returns nothing, silently, when the hardware
is absent. ``varwheel.providers.registry`` maps variant metadata to them.

A module is imported the first time its namespace is asked for (``provider_type``): installing
an x86-64 variant does not load the GPU providers' ctypes bindings. ``NATIVE_PROVIDER_TYPES`` and
the class names still work as attributes (they import every module).
"""

from __future__ import annotations

import importlib
from typing import Any

# namespace -> (module in this package, class); tests/providers/test_registry.py checks that each
# class's ``namespace`` is its key
_TYPES: dict[str, tuple[str, str]] = {
    "x86_64": ("x86_64", "X8664Provider"),
    "aarch64": ("aarch64", "AArch64Provider"),
    "nvidia": ("nvidia", "NvidiaProvider"),
    "amd": ("amd", "AMDProvider"),
    "intel": ("intel", "IntelProvider"),
    "ascend": ("ascend", "AscendProvider"),
    "blas_lapack": ("blas_lapack", "BlasLapackProvider"),
    "openmp": ("openmp", "OpenMPProvider"),
}
NAMESPACES = tuple(_TYPES)

__all__ = [
    "NAMESPACES",
    "NATIVE_PROVIDER_TYPES",
    "AArch64Provider",
    "AMDProvider",
    "AscendProvider",
    "BlasLapackProvider",
    "IntelProvider",
    "NvidiaProvider",
    "OpenMPProvider",
    "X8664Provider",
    "provider_type",
]


def provider_type(namespace: str) -> Any:
    """The native provider class for ``namespace``, or None when varwheel has none."""
    entry = _TYPES.get(namespace)
    if entry is None:
        return None
    module = importlib.import_module(f"{__name__}.{entry[0]}")
    return getattr(module, entry[1])


def __getattr__(name: str) -> Any:
    if name == "NATIVE_PROVIDER_TYPES":
        return tuple(provider_type(ns) for ns in _TYPES)
    for namespace, (_module, cls) in _TYPES.items():
        if cls == name:
            return provider_type(namespace)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
