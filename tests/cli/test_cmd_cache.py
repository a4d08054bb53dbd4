"""``varwheel cache info|clear``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from varwheel.cli.main import main


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("VARWHEEL_CONFIG", str(config))
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "cache"


def _info(capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["cache", "info", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_info_then_clear(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = _info(capsys)
    assert empty == {
        "location": str(cache_dir),
        "plugin_envs": 0,
        "provider_answers": 0,
        "size_bytes": 0,
    }
    assert main(["detect", "--json", "--namespace", "nvidia", "--namespace", "x86_64"]) == 0
    capsys.readouterr()
    filled = _info(capsys)
    assert filled["provider_answers"] == 2
    assert filled["size_bytes"] > 0
    assert main(["cache", "info"]) == 0
    text = capsys.readouterr().out
    assert f"location:          {cache_dir}" in text and "provider answers:  2" in text
    assert main(["cache", "clear"]) == 0
    assert "removed 2 provider answers and 0 plugin venvs" in capsys.readouterr().out
    assert _info(capsys)["provider_answers"] == 0


def test_cache_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["cache"])
    assert info.value.code == 2
