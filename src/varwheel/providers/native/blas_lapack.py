"""Native ``blas_lapack`` provider: the AoT list of blas-lapack-variant-provider 0.0.3."""

from __future__ import annotations

from typing import ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._static import StaticProvider

ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("provider", ("accelerate", "openblas", "mkl")),
)


class BlasLapackProvider(StaticProvider):
    namespace: ClassVar[str] = "blas_lapack"
    version: ClassVar[str] = "0.0.3"
    distributions: ClassVar[tuple[str, ...]] = ("blas-lapack-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = ("blas_lapack_variant_provider",)
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS
