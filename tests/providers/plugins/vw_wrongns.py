"""A v0.0.x-style plugin declaring a namespace other than the one it is used for."""

from __future__ import annotations

from _configs import Config

namespace = "somebody_else"


def get_all_configs() -> list[Config]:
    return [Config("speed", ["fast", "slow"])]


def get_supported_configs() -> list[Config]:
    return [Config("speed", ["fast"])]
