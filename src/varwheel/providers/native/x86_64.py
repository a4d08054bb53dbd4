"""Native ``x86_64`` provider: answers like provider-variant-x86-64 0.0.3.

``level`` is the archspec host's generic ``x86_64_vN`` and every lower level, best first, capped at
v4; each ISA extension archspec knows for the host is a feature with the single value ``on``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._common import on_features, plugin_api_names
from varwheel.providers.native._cpu import CpuProvider

if TYPE_CHECKING:
    from archspec.cpu import Microarchitecture

MAX_KNOWN_LEVEL = 4

# The plugin's feature list, newest microarchitecture first: this is the preference order.
ALL_FEATURES: tuple[str, ...] = (
    # zen5
    "avx_vnni", "cppc", "ibrs_enhanced", "tsc_adjust",
    # zen4
    "flush_l1d",
    # sapphirerapids
    "movdir64b", "movdiri",
    # icelake
    "avx512_bf16", "avx512_bitalg", "avx512_vbmi2", "avx512_vnni", "avx512_vp2intersect",
    "avx512_vpopcntdq", "avx512ifma", "avx512vbmi", "rdpid", "sha_ni", "vaes", "vpclmulqdq",
    # skylake_avx512
    "clwb", "clzero",
    # x86-64-v4
    "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl",
    # skylake
    "clflushopt", "gfni", "rdseed", "xsavec", "xsaveopt",
    # broadwell
    "adx",
    # x86-64-v3
    "avx2", "avx", "bmi2", "bmi1", "abm", "f16c", "fma", "movbe", "xsave",
    # sandybridge, westmere, nehalem
    "rdrand", "aes", "pclmulqdq",
    # steamroller
    "sse4a", "fsgsbase",
    # x86-64-v2
    "sse4_2", "sse4_1", "ssse3", "sse3", "cx16", "lahf_lm", "popcnt",
    # x86-64-v1
    "sse2", "sse", "mmx",
)  # fmt: skip


def level_values(max_level: int) -> tuple[str, ...]:
    return tuple(f"v{level}" for level in range(max_level, 0, -1))


ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("level", level_values(MAX_KNOWN_LEVEL)),
    *on_features(ALL_FEATURES),
)


def x86_64_supported(host: Microarchitecture | None) -> tuple[FeatureConfig, ...]:
    """Supported configs for an archspec host target (None or a non-x86 target: nothing).

    Like the plugin, a host whose generic target is plain ``x86_64`` (no ``vN``) reports nothing.
    """
    if host is None:
        return ()
    generic_name = host.generic.name
    if not generic_name.startswith("x86_64_v"):
        return ()
    try:
        level = int(generic_name.removeprefix("x86_64_v"))
    except ValueError:
        return ()
    return (
        FeatureConfig("level", level_values(min(level, MAX_KNOWN_LEVEL))),
        *on_features(f for f in ALL_FEATURES if f in host),
    )


class X8664Provider(CpuProvider):
    """The x86_64 provider (``host``: an archspec target factory, e.g. for a profile)."""

    namespace: ClassVar[str] = "x86_64"
    version: ClassVar[str] = "0.0.3"
    distributions: ClassVar[tuple[str, ...]] = (
        "provider-variant-x86-64",
        "x86-64-variant-provider",
    )
    plugin_apis: ClassVar[tuple[str, ...]] = plugin_api_names(
        "provider_variant_x86_64", "X8664Plugin", "x86_64_variant_provider"
    )
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS

    def supported_for(self, host: Microarchitecture | None) -> tuple[FeatureConfig, ...]:
        return x86_64_supported(host)
