"""A command run in a test sees only its own cache, an empty config and no active venv."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def isolate_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drop_env_prefixes: tuple[str, ...] = ()
) -> None:
    """Point the cache and the config into ``tmp_path``, forget ``VIRTUAL_ENV`` and any variable
    starting with one of ``drop_env_prefixes``, and run from ``tmp_path``."""
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").write_text("")
    monkeypatch.setenv("VARWHEEL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    if drop_env_prefixes:
        for key in list(os.environ):
            if key.startswith(drop_env_prefixes):
                monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
