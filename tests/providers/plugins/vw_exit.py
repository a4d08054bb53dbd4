"""Kills its own process while answering: the worker dies without a response."""

from __future__ import annotations

import os
import sys

from _configs import Config


def get_all_configs() -> list[Config]:
    return [Config("speed", ["fast", "slow"])]


def get_supported_configs() -> list[Config]:
    sys.stderr.write("fatal: segfault simulated\n")
    sys.stderr.flush()
    os._exit(7)
