"""Native providers: pure-Python re-implementations of the published provider plugins.

One module per namespace. Each answers like the published plugin version it names
(``version``), reads no third-party plugin code, and returns nothing, silently, when the hardware
is absent. ``varwheel.providers.registry`` maps variant metadata to them.
"""

from __future__ import annotations

from varwheel.providers.native.aarch64 import AArch64Provider
from varwheel.providers.native.amd import AMDProvider
from varwheel.providers.native.ascend import AscendProvider
from varwheel.providers.native.blas_lapack import BlasLapackProvider
from varwheel.providers.native.intel import IntelProvider
from varwheel.providers.native.nvidia import NvidiaProvider
from varwheel.providers.native.openmp import OpenMPProvider
from varwheel.providers.native.x86_64 import X8664Provider

NATIVE_PROVIDER_TYPES = (
    X8664Provider,
    AArch64Provider,
    NvidiaProvider,
    AMDProvider,
    IntelProvider,
    AscendProvider,
    BlasLapackProvider,
    OpenMPProvider,
)

__all__ = [
    "NATIVE_PROVIDER_TYPES",
    "AArch64Provider",
    "AMDProvider",
    "AscendProvider",
    "BlasLapackProvider",
    "IntelProvider",
    "NvidiaProvider",
    "OpenMPProvider",
    "X8664Provider",
]
