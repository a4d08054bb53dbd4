"""Claims support for a value get_all_configs() does not declare."""

from __future__ import annotations

from _configs import Config


def get_all_configs() -> list[Config]:
    return [Config("speed", ["fast", "slow"])]


def get_supported_configs() -> list[Config]:
    return [Config("speed", ["warp", "fast"])]
