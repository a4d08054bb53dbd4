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
    assert doc["variant_forced"] is False


def test_show_missing_is_a_warning_and_exit_1(venv: Path, capsys) -> None:
    assert main(["show", "--python", str(venv), "nope", "lib"]) == 1
    out, err = capsys.readouterr()
    assert "Name: lib" in out
    assert without_environment_line(err).strip().endswith(f"package(s) not found in {venv}: nope")


def test_show_a_forced_variant(tmp_path: Path, capsys) -> None:
    """A variant installed through --force-variant is shown as forced, with the reason."""
    from cli.envfill import VARIANT
    from helpers.envs import make_venv
    from helpers.wheels import build_wheel
    from resolve.variant_project import write_profile

    wheel = build_wheel(tmp_path / "w", "forced-pkg", "1.0", label="cu12", variant=VARIANT)
    cpu = write_profile(tmp_path / "cpu.toml", cuda=None)
    venv = make_venv(tmp_path / "venv")
    argv = ["install", "-q", "--python", str(venv), "--no-index", "--profile", str(cpu)]
    code = main([*argv, "--variant", "forced-pkg=cu12", "--force-variant", str(wheel)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["show", "--python", str(venv), "forced-pkg"]) == 0
    out = capsys.readouterr().out
    assert "Variant: cu12" in out and "Variant-forced: yes (--force-variant" in out
    assert main(["show", "--json", "--python", str(venv), "forced-pkg"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["variant_forced"] is True and doc["variant_forced_reason"]
