"""Raises inside get_supported_configs."""

from __future__ import annotations

from _configs import Config


def get_all_configs() -> list[Config]:
    return [Config("speed", ["fast", "slow"])]


def get_supported_configs() -> list[Config]:
    raise RuntimeError("detection library exploded")
