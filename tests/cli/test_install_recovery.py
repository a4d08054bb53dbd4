"""`varwheel install` after a killed run: the leftover transaction is settled first, and said so;
`--compile` writes bytecode for what it installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.envs import make_venv, snapshot_tree
from helpers.wheels import build_wheel

pytestmark = pytest.mark.slow


def _varwheel(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_install_after_a_killed_install_rolls_back_then_installs(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_wheel(links, "alpha", "1.0", files={f"alpha/m{i}.py": f"X = {i}\n" for i in range(20)})
    venv = make_venv(tmp_path / "venv")
    site = next((venv / "lib").glob("python*/site-packages"))
    before = snapshot_tree(site)
    common = ["--no-index", "--find-links", str(links), "--python", str(venv)]

    killed = _varwheel("install", "alpha", *common, env={"VARWHEEL_TEST_CRASH_AFTER": "1"})
    assert killed.returncode != 0  # SIGKILLed mid-way, journal left behind
    assert snapshot_tree(site) != before

    again = _varwheel("install", "alpha", *common)
    assert again.returncode == 0, again.stderr
    assert "varwheel: note:" in again.stderr
    assert "Traceback" not in again.stderr
    assert (site / "alpha" / "m19.py").read_text() == "X = 19\n"
    assert not list(site.rglob("*.pyc"))  # no bytecode by default, like uv


def test_compile_flag_writes_bytecode(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_wheel(links, "beta", "1.0")
    venv = make_venv(tmp_path / "venv")
    done = _varwheel(
        "install", "beta", "--compile", "--no-index", "-f", str(links), "--python", str(venv)
    )
    assert done.returncode == 0, done.stderr
    site = next((venv / "lib").glob("python*/site-packages"))
    assert list((site / "beta").rglob("*.pyc"))
