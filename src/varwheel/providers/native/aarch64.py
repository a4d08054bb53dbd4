"""Native ``aarch64`` provider: answers like provider-variant-aarch64 0.0.3.

``version`` is the archspec host's generic ``armvX.Ya`` then its ancestors (``8.2a, 8.1a, 8a``),
capped at 9.0a; each ISA feature archspec knows for the host has the single value ``on``.
On a machine that is not AArch64 the live answer is empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._common import on_features, plugin_api_names
from varwheel.providers.native._cpu import CpuProvider

if TYPE_CHECKING:
    from archspec.cpu import Microarchitecture

MAX_KNOWN_VERSION = "armv9.0a"
# The chain of armv9.0a in archspec, fixed here so get_all_configs() never depends on the
# installed archspec (PEP 817: a plugin version always returns the same all-configs).
ALL_VERSIONS: tuple[str, ...] = ("9.0a", "8.5a", "8.4a", "8.3a", "8.2a", "8.1a", "8a")

# Newest core first: the preference order.
ALL_FEATURES: tuple[str, ...] = (
    # neoverse_n2/v2 (armv9.0)
    "sve2", "flagm2", "frint", "sb",
    # m2 (armv8.5)
    "btiecv",
    # m1 (armv8.4)
    "paca", "pacg", "ssbs",
    # neoverse_v1 (armv8.4)
    "asimdfhm", "bf16", "dcpodp", "dgh", "dit", "flagm", "i8mm", "ilrcpc", "jscvt", "rng",
    "sha3", "sha512", "svebf16", "svei8mm", "uscat",
    # neoverse_n1 (armv8.2)
    "asimddp", "lrcpc",
    # a64fx (armv8.2)
    "asimdhp", "dcpop", "fcma", "fphp", "sve",
    # thunderx2 (armv8.1)
    "asimdrdmatomics",
    # cortex_a72 (armv8.0)
    "aes", "asimd", "cpuid", "crc32", "evtstrm", "fp", "pmull", "sha1", "sha2",
)  # fmt: skip

ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("version", ALL_VERSIONS),
    *on_features(ALL_FEATURES),
)


def _name(target: Any) -> str:
    return target if isinstance(target, str) else str(target.name)


def archspec_to_value(name: str) -> str | None:
    """``aarch64`` -> ``8a``, ``armv8.2a`` -> ``8.2a``; other names have no value."""
    if name == "aarch64":
        return "8a"
    if name.startswith("armv") and name.endswith("a"):
        return name[4:]
    return None


def _versions(names: Iterable[str]) -> tuple[str, ...]:
    values = (archspec_to_value(n) for n in names)
    return tuple(v for v in values if v is not None)


def aarch64_supported(host: Microarchitecture | None) -> tuple[FeatureConfig, ...]:
    """Supported configs for an archspec host target (None or a non-ARM target: nothing)."""
    if host is None:
        return ()
    generic = host.generic
    family = {_name(generic), *(_name(a) for a in host.ancestors)}
    if "aarch64" not in family:
        return ()
    generic_ancestors = [_name(a) for a in generic.ancestors]
    if MAX_KNOWN_VERSION in generic_ancestors:
        versions = ALL_VERSIONS  # newer than 9.0a: ceil to the newest known version
    else:
        versions = _versions([_name(generic), *generic_ancestors])
    return (
        FeatureConfig("version", versions),
        *on_features(f for f in ALL_FEATURES if f in host),
    )


class AArch64Provider(CpuProvider):
    """The aarch64 provider (``host``: e.g. ``lambda: host_from_cpuinfo(text, "aarch64")``)."""

    namespace: ClassVar[str] = "aarch64"
    version: ClassVar[str] = "0.0.3"
    distributions: ClassVar[tuple[str, ...]] = (
        "provider-variant-aarch64",
        "aarch64-variant-provider",
    )
    plugin_apis: ClassVar[tuple[str, ...]] = plugin_api_names(
        "provider_variant_aarch64", "AArch64Plugin", "aarch64_variant_provider"
    )
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS

    def supported_for(self, host: Microarchitecture | None) -> tuple[FeatureConfig, ...]:
        return aarch64_supported(host)
