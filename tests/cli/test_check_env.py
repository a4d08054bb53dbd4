"""``varwheel check`` with no PATH: pip's check of the environment (issue 11); exit 1 on
problems. ``check PATH`` stays the release/project lint (tests/cli/test_cmd_check.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.envfill import filled_venv
from helpers.cli import isolate_cli
from varwheel.cli.main import main


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_cli(tmp_path, monkeypatch)
    return filled_venv(tmp_path)[0]


def _site(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def test_clean_environment_exits_0(venv: Path, capsys) -> None:
    assert main(["check", "--python", str(venv)]) == 0
    assert capsys.readouterr().out == "No broken requirements found.\n"


def test_missing_and_incompatible_exit_1(venv: Path, capsys, monkeypatch) -> None:
    assert main(["check", "--python", str(venv), "--json"]) == 0
    capsys.readouterr()
    # lib 1.0 replaced by hand with 0.9 (metadata only): app needs lib>=1
    site = _site(venv)
    meta = site / "lib-1.0.dist-info" / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 1.0", "Version: 0.9"))
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert out == "app 1.0 requires lib>=1, but you have lib 0.9 which is incompatible\n"
    shutil.rmtree(site / "lib-1.0.dist-info")
    assert main(["check", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["problems"] == [
        {
            "name": "app",
            "version": "1.0",
            "requirement": "lib>=1",
            "kind": "missing",
            "dependency": "lib",
            "installed_version": None,
        }
    ]


def test_check_with_a_path_still_lints(venv: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "dist").mkdir()
    assert main(["check", str(tmp_path / "dist"), "--python", str(venv)]) == 2
    out, err = capsys.readouterr()
    assert "no wheels or *-variants.json files" in err and out == ""
