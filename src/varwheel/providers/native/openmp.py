"""Native ``openmp`` provider: the AoT list of openmp-variant-provider 0.0.2/0.0.3."""

from __future__ import annotations

from typing import ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._static import StaticProvider

ALL_CONFIGS: tuple[FeatureConfig, ...] = (FeatureConfig("provider", ("gnu", "intel", "llvm")),)


class OpenMPProvider(StaticProvider):
    namespace: ClassVar[str] = "openmp"
    version: ClassVar[str] = "0.0.3"
    distributions: ClassVar[tuple[str, ...]] = ("openmp-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = ("openmp_variant_provider",)
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS
