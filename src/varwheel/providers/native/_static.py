"""Shared shape of the AoT (static) providers: supported == all, machine independent."""

from __future__ import annotations

from typing import ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._common import digest


class StaticProvider:
    """Subclasses set ``namespace``, ``version``, ``distributions``, ``plugin_apis``, ``configs``."""

    namespace: ClassVar[str]
    version: ClassVar[str]
    distributions: ClassVar[tuple[str, ...]]
    plugin_apis: ClassVar[tuple[str, ...]]
    configs: ClassVar[tuple[FeatureConfig, ...]]
    is_static: ClassVar[bool] = True
    override_env_vars: ClassVar[tuple[str, ...]] = ()

    def get_all_configs(self) -> tuple[FeatureConfig, ...]:
        return self.configs

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        return self.configs

    def fingerprint(self) -> str:
        return digest(self.namespace, self.version, ["static"])
