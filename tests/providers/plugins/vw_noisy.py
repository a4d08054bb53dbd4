"""Prints to stdout at import and in every call, also straight to file descriptor 1."""

from __future__ import annotations

import os

from _configs import Config

print("noisy plugin imported {not json")


def get_all_configs() -> list[Config]:
    print("get_all_configs called")
    return [Config("speed", ["fast", "slow"]), Config("color", ["red", "blue"], True)]


def get_supported_configs() -> list[Config]:
    os.write(1, b"raw bytes on fd 1\n")
    return [Config("speed", ["slow"]), Config("color", ["blue", "red"], True)]
