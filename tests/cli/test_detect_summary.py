"""``varwheel detect`` shows what was detected, not every value a provider derives from it
(issue 11, "Messages": 78 made-up CUDA upper bounds for one driver), readable at 80 columns;
``--json`` still lists every value. The real native nvidia provider, told the driver by its
documented force variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.test_explain import FORCE_PREFIXES
from helpers.cli import isolate_cli
from varwheel.cli.main import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=FORCE_PREFIXES)
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    monkeypatch.setenv("COLUMNS", "80")


def test_long_value_lists_are_summarised_with_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--namespace", "nvidia"]) == 0  # first: not "(cached)" in between
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert "cuda_version_lower_bound: 12.8, 12.7, 12.6, 12.5, … and 28 more, down to 11;" in flat
    assert "cuda_version_upper_bound: 15.20, 15.19, 15.18, 15.17, … and 74 more, down to 12.9" in (
        flat
    )
    assert "14.13" not in out  # the made-up bounds in between are counted, not listed
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert len(out.splitlines()) <= 8, out
    assert main(["detect", "--namespace", "nvidia", "--json"]) == 0
    text = json.dumps(json.loads(capsys.readouterr().out))
    assert all(f'"{v}"' in text for v in ("15.20", "14.13", "12.9", "11"))  # --json: every value
