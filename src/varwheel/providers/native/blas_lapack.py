"""Native ``blas_lapack`` provider: the AoT list of blas-lapack-variant-provider 0.0.3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._common import digest

ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("provider", ("accelerate", "openblas", "mkl")),
)


@dataclass(frozen=True)
class BlasLapackProvider:
    namespace: ClassVar[str] = "blas_lapack"
    version: ClassVar[str] = "0.0.3"
    is_static: ClassVar[bool] = True
    override_env_vars: ClassVar[tuple[str, ...]] = ()
    distributions: ClassVar[tuple[str, ...]] = ("blas-lapack-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = ("blas_lapack_variant_provider",)

    def get_all_configs(self) -> tuple[FeatureConfig, ...]:
        return ALL_CONFIGS

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        return ALL_CONFIGS

    def fingerprint(self) -> str:
        return digest(self.namespace, self.version, ["static"])
