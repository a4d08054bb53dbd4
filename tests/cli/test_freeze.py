"""``varwheel freeze`` (issue 11): pip's format; a variant's label as a trailing comment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.envfill import filled_venv
from helpers.cli import isolate_cli
from helpers.wheels import build_wheel
from varwheel.cli.main import main
from varwheel.resolve.requirements_file import read_requirements_file


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("freeze")
    isolate_cli(root, mp)
    try:
        venv = filled_venv(root)[0]
        pip = build_wheel(root / "tools", "pip", "99.0")
        assert main(["install", "-q", "--python", str(venv), "--no-index", str(pip)]) == 0
        return venv
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def test_freeze_lines(venv: Path, capsys, tmp_path: Path) -> None:
    assert main(["freeze", "--python", str(venv)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "app==1.0"
    assert lines[1].startswith("Fancy-Lib @ file://") and lines[1].endswith(
        "fancy_lib-0.5-py3-none-any-cu12.whl  # variant: cu12"
    )
    assert lines[2:] == ["lib==1.0"]  # pip is left out, as pip's freeze does
    # the output is a requirements file varwheel (and pip) read back; the label is a comment
    (tmp_path / "req.txt").write_text("\n".join(lines) + "\n")
    names = [r.name for r in read_requirements_file(tmp_path / "req.txt")]
    assert names == ["app", "fancy-lib", "lib"]


def test_freeze_all_exclude_and_json(venv: Path, capsys) -> None:
    assert main(["freeze", "--all", "--exclude", "app", "--json", "--python", str(venv)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["Fancy-Lib", "lib", "pip"]
    assert rows[0]["variant_label"] == "cu12" and rows[0]["url"].startswith("file://")
    assert rows[1] == {
        "name": "lib",
        "version": "1.0",
        "requirement": "lib==1.0",
        "url": None,
        "editable": False,
        "variant_label": None,
    }


def test_freeze_is_read_by_pip(venv: Path, tmp_path: Path, capsys) -> None:
    """pip accepts the freeze output (trailing comment included) as a requirements file."""
    assert main(["freeze", "--python", str(venv), "--exclude", "Fancy-Lib"]) == 0
    req = tmp_path / "req.txt"
    req.write_text(capsys.readouterr().out)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "-r", str(req)],
        capture_output=True,
        text=True,
        check=False,
    )
    # pip parses every line; it only fails to find app/lib without an index
    assert "No matching distribution found for app==1.0" in done.stderr, done.stderr
