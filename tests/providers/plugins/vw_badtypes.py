"""Returns values of the wrong type (a bare string instead of a list)."""

from __future__ import annotations

from _configs import Config


def get_all_configs() -> list[Config]:
    return [Config("speed", ["fast", "slow"])]


def get_supported_configs() -> list[Config]:
    return [Config("speed", "fast")]  # type: ignore[arg-type]
