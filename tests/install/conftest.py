"""Fixtures for installation tests: a fresh bare venv per test (about 50 ms)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.envs import make_venv
from varwheel.install.environment import TargetEnvironment, find_target_environment


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "vw-cache"))


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "venv")


@pytest.fixture
def env(venv: Path) -> TargetEnvironment:
    return find_target_environment(str(venv))
