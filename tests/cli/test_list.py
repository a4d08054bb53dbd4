from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.envs import make_venv
from helpers.wheels import build_wheel, variant_json
from varwheel.cli.main import main
from varwheel.install.environment import find_target_environment
from varwheel.install.transaction import install_wheels


@pytest.fixture
def populated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    venv = make_venv(tmp_path / "venv")
    vj = variant_json("x86_64_v3", ["x86_64 :: level :: v3", "x86_64 :: avx512 :: on"])
    wheels = [
        build_wheel(tmp_path / "w", "Zeta-Pkg", "1.2.3", variant=vj),
        build_wheel(tmp_path / "w", "alpha", "0.1"),
    ]
    install_wheels(find_target_environment(str(venv)), wheels, requested={"alpha"})
    return venv


def test_list_table(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--python", str(populated)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Name", "Version", "Variant", "Installer"]
    assert [line.split() for line in lines[2:]] == [
        ["alpha", "0.1", "-", "varwheel"],
        ["Zeta-Pkg", "1.2.3", "x86_64_v3", "varwheel"],
    ]


def test_list_json(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json", "--python", str(populated / "bin" / "python")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["variant_label"], r["requested"]) for r in rows] == [
        ("alpha", None, True),
        ("Zeta-Pkg", "x86_64_v3", False),
    ]
    assert rows[1]["variant_properties"] == ["x86_64 :: avx512 :: on", "x86_64 :: level :: v3"]


def test_list_uses_virtual_env_and_shows_foreign_installers(
    populated: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = next((populated / "lib").glob("python*/site-packages"))
    foreign = site / "legacy-9.0.dist-info"
    foreign.mkdir()
    (foreign / "METADATA").write_text("Metadata-Version: 2.1\nName: legacy\nVersion: 9.0\n\n")
    (foreign / "INSTALLER").write_text("pip\n")
    monkeypatch.setenv("VIRTUAL_ENV", str(populated))
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 0
    assert ["legacy", "9.0", "-", "pip"] in [
        line.split() for line in capsys.readouterr().out.splitlines()
    ]


def test_list_without_target_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 2  # a usage error, as uv
    assert (
        "no target environment: create one with `python -m venv .venv` or pass --python"
        in capsys.readouterr().err
    )


def test_list_console_script(populated: Path) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "varwheel"), "list", "--python", str(populated)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "x86_64_v3" in proc.stdout
