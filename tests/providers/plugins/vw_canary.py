"""Canary: importing this module writes the file named by $VW_CANARY_FILE."""

from __future__ import annotations

import os
from pathlib import Path

Path(os.environ["VW_CANARY_FILE"]).write_text("imported\n")


class _Config:
    name = "bird"
    values = ("yellow",)
    multi_value = False


def get_all_configs() -> list[_Config]:
    return [_Config()]


def get_supported_configs() -> list[_Config]:
    return [_Config()]
