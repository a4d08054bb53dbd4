"""Native ``nvidia`` provider: answers like nvidia-variant-provider 0.0.2.

Features, most preferred first (nvidia-variant-provider ``plugin.py``; values verified against
``reference-plugin-outputs/plugins.json``):

- ``cuda_version_lower_bound`` (wheel needs driver >= X): the local CUDA driver version down to 11,
  a bare major after each major's ``.0`` (``12.8 ... 12.0, 12, 11.20 ... 11``);
- ``cuda_version_upper_bound`` (wheel needs driver < X): ``15.20`` down to just above local;
- ``sm_arch`` (multi-value): only the highest compute capability, ``{M}{m}_real`` for m = local
  minor .. 0, then ``{M}0_virtual``.

The CUDA version and SM come from NVML or from ``NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION``
and ``NV_VARIANT_PROVIDER_FORCE_SM_ARCH``. Without a CUDA version nothing is supported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from packaging.version import InvalidVersion, Version

from varwheel.errors import ProviderError
from varwheel.providers.base import FeatureConfig, restrict_to
from varwheel.providers.native._common import (
    NativeProvider,
    digest,
    environ,
    forced,
    glob_fact,
    library_facts,
    plugin_api_names,
    read_fact,
)
from varwheel.providers.native._nvml import CudaEnvironment, query_nvml

FORCE_CUDA_VAR = "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION"
FORCE_SM_VAR = "NV_VARIANT_PROVIDER_FORCE_SM_ARCH"

UMD_MIN_MAJOR, UMD_MAX_MAJOR = 11, 15
UMD_MAX_MINOR = 20
SM_MIN_MAJOR, SM_MAX_MAJOR = 5, 12


def _umd_values(major: int, minors: range, *, bare: bool) -> Iterator[str]:
    for minor in minors:
        yield f"{major}.{minor}"
    if bare:
        yield f"{major}"


def all_umd_values() -> tuple[str, ...]:
    """``15.20 ... 15.0, 15, 14.20 ... 11.0, 11`` (110 values)."""
    return tuple(
        value
        for major in range(UMD_MAX_MAJOR, UMD_MIN_MAJOR - 1, -1)
        for value in _umd_values(major, range(UMD_MAX_MINOR, -1, -1), bare=True)
    )


def all_sm_values() -> tuple[str, ...]:
    """``129_real ... 50_real`` then ``129_virtual ... 50_virtual`` (160 values)."""
    pairs = [(M, m) for M in range(SM_MAX_MAJOR, SM_MIN_MAJOR - 1, -1) for m in range(9, -1, -1)]
    return tuple(f"{M}{m}_real" for M, m in pairs) + tuple(f"{M}{m}_virtual" for M, m in pairs)


ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("cuda_version_lower_bound", all_umd_values()),
    FeatureConfig("cuda_version_upper_bound", all_umd_values()),
    FeatureConfig("sm_arch", all_sm_values(), multi_value=True),
)


def lower_bound_values(cuda: tuple[int, int]) -> tuple[str, ...]:
    major, minor = cuda
    return tuple(
        value
        for m in range(major, UMD_MIN_MAJOR - 1, -1)
        for value in _umd_values(
            m, range(minor if m == major else UMD_MAX_MINOR, -1, -1), bare=True
        )
    )


def upper_bound_values(cuda: tuple[int, int]) -> tuple[str, ...]:
    major, minor = cuda
    return tuple(
        value
        for m in range(UMD_MAX_MAJOR, major - 1, -1)
        for value in _umd_values(
            m,
            range(UMD_MAX_MINOR, -1, -1) if m > major else range(UMD_MAX_MINOR, minor, -1),
            bare=m > major,
        )
    )


def sm_values(sm: tuple[int, int]) -> tuple[str, ...]:
    """Below SM 5.0 the plugin only warns: no values."""
    major, minor = sm
    if (major, minor) < (SM_MIN_MAJOR, 0):
        return ()
    return (*(f"{major}{m}_real" for m in range(minor, -1, -1)), f"{major}0_virtual")


def nvidia_supported(
    cuda: tuple[int, int] | None, sm: tuple[int, int] | None
) -> tuple[FeatureConfig, ...]:
    """The plugin's answer for a CUDA driver version and highest SM (before subset filtering)."""
    if cuda is None:
        return ()
    configs = [
        FeatureConfig("cuda_version_lower_bound", lower_bound_values(cuda)),
        FeatureConfig("cuda_version_upper_bound", upper_bound_values(cuda)),
    ]
    if sm is not None:
        configs.append(FeatureConfig("sm_arch", sm_values(sm), multi_value=True))
    return tuple(c for c in configs if c.values)


def parse_forced_cuda(text: str) -> tuple[int, int]:
    try:
        release = Version(text).release
    except InvalidVersion:
        raise ProviderError(
            f"{FORCE_CUDA_VAR}={text!r} is not a version (expected e.g. 12.8)"
        ) from None
    return release[0], release[1] if len(release) > 1 else 0


def parse_forced_sm(text: str) -> tuple[int, int]:
    major, sep, minor = text.partition(".")
    if not (sep and major.isdigit() and minor.isdigit()):
        raise ProviderError(
            f"{FORCE_SM_VAR}={text!r} is not a compute capability (expected e.g. 9.0)"
        )
    return int(major), int(minor)


def _in_supported_range(cuda: tuple[int, int]) -> bool:
    return (UMD_MIN_MAJOR, 0) <= cuda <= (UMD_MAX_MAJOR, UMD_MAX_MINOR)


@dataclass(frozen=True)
class NvidiaProvider(NativeProvider):
    """``environ`` and ``detect`` replace ``os.environ`` and NVML (profiles, tests)."""

    environ: Mapping[str, str] | None = None
    detect: Callable[[], CudaEnvironment | None] | None = None

    namespace: ClassVar[str] = "nvidia"
    version: ClassVar[str] = "0.0.2"
    override_env_vars: ClassVar[tuple[str, ...]] = (FORCE_CUDA_VAR, FORCE_SM_VAR)
    distributions: ClassVar[tuple[str, ...]] = ("nvidia-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = plugin_api_names(
        "nvidia_variant_provider", "NvidiaVariantPlugin"
    )
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        env = environ(self.environ)
        detected: list[CudaEnvironment | None] = []

        def system() -> CudaEnvironment | None:
            if not detected:
                detected.append((self.detect or query_nvml)())
            return detected[0]

        forced_cuda = forced(env, FORCE_CUDA_VAR)
        if forced_cuda is not None:
            cuda: tuple[int, int] | None = parse_forced_cuda(forced_cuda)
        else:
            found = system()
            cuda = found.cuda_driver_version if found else None
            # Outside the known window the plugin disables itself rather than guess.
            if cuda is not None and not _in_supported_range(cuda):
                cuda = None
        if cuda is None:
            return ()

        forced_sm = forced(env, FORCE_SM_VAR)
        sm: tuple[int, int] | None
        if forced_sm is not None:
            sm = parse_forced_sm(forced_sm)
        else:
            found = system()
            sm = max(found.architectures) if found and found.architectures else None
        return restrict_to(nvidia_supported(cuda, sm), ALL_CONFIGS)

    def fingerprint(self) -> str:
        facts = [
            glob_fact(Path("/dev"), "nvidia*"),
            read_fact(Path("/proc/driver/nvidia/version")),
            *library_facts(),
        ]
        return digest(self.namespace, self.version, facts)
