"""``varwheel show NAME...`` (issue 11: pip's show, with the variant label and properties)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.envfill import filled_venv
from cli.targets import without_environment_line
from helpers.cli import isolate_cli
from varwheel.cli.main import main


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("show")
    isolate_cli(root, mp)
    try:
        return filled_venv(root)[0]
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def test_show_text_names_edges_and_variant(venv: Path, capsys) -> None:
    assert main(["show", "--python", str(venv), "lib", "fancy_lib"]) == 0
    out = capsys.readouterr().out
    lib, fancy = out.split("\n---\n")
    assert "Name: lib\nVersion: 1.0\n" in lib
    assert "Required-by: app\n" in lib and "Installer: varwheel" in lib
    assert "Variant: -" in lib
    assert "Name: Fancy-Lib" in fancy and "Variant: cu12" in fancy
    assert "  nvidia :: cuda_version_lower_bound :: 12.0" in fancy
    assert "Installed-from: file://" in fancy  # PEP 610: installed by path
    site = next((venv / "lib").glob("python*/site-packages"))
    assert f"Location: {site}" in lib


def test_show_json(venv: Path, capsys) -> None:
    assert main(["show", "--json", "--python", str(venv), "app==1.0"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["name"] == "app" and doc["version"] == "1.0"
    assert doc["requires"] == ["lib"]  # nothere's marker does not hold
    assert doc["required_by"] == [] and doc["requested"] is True
    assert doc["variant_label"] is None and doc["direct_url"] is None


def test_show_missing_is_a_warning_and_exit_1(venv: Path, capsys) -> None:
    assert main(["show", "--python", str(venv), "nope", "lib"]) == 1
    out, err = capsys.readouterr()
    assert "Name: lib" in out
    assert without_environment_line(err).strip().endswith(f"package(s) not found in {venv}: nope")
