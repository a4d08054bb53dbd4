"""Shared shape of the AoT (static) providers: supported == all, machine independent."""

from __future__ import annotations

from typing import ClassVar

from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._common import NativeProvider, digest


class StaticProvider(NativeProvider):
    """Subclasses set ``namespace``, ``version``, ``distributions``, ``plugin_apis``,
    ``all_configs``."""

    is_static: ClassVar[bool] = True

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        return self.all_configs

    def fingerprint(self) -> str:
        return digest(self.namespace, self.version, ["static"])
