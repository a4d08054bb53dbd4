from __future__ import annotations

import io
from pathlib import Path

import pytest

from helpers.envs import make_venv, snapshot_tree
from helpers.wheels import build_wheel, variant_json
from varwheel.cli.main import main
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions
from varwheel.install.transaction import install_wheels


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    return make_venv(tmp_path / "venv")


def _install(tmp_path: Path, venv: Path) -> dict[str, str]:
    before = snapshot_tree(venv)
    vj = variant_json("mkl", ["blas :: library :: mkl"])
    wheels = [
        build_wheel(
            tmp_path / "w",
            "one",
            "1.0",
            variant=vj,
            entry_points={"console_scripts": {"one": "one:main"}},
        ),
        build_wheel(tmp_path / "w", "two", "2.0"),
    ]
    install_wheels(find_target_environment(str(venv)), wheels)
    return before


def test_uninstall_yes(tmp_path: Path, venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _install(tmp_path, venv)
    assert main(["uninstall", "-y", "--python", str(venv), "one", "TWO", "absent"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["Uninstalled one 1.0", "Uninstalled two 2.0"]
    assert "absent is not installed" in captured.err
    assert snapshot_tree(venv) == before


def test_uninstall_asks_and_can_be_declined(
    tmp_path: Path, venv: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, venv)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["uninstall", "--python", str(venv), "one"]) == 1
    err = capsys.readouterr().err
    assert "Would remove one 1.0 [mkl]" in err
    assert "nothing was removed" in err
    assert "one" in installed_distributions(find_target_environment(str(venv)))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["uninstall", "--python", str(venv), "one"]) == 0
    assert "one" not in installed_distributions(find_target_environment(str(venv)))
    assert not (venv / "bin" / "one").exists()


def test_uninstall_without_record_is_refused(
    tmp_path: Path, venv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(tmp_path, venv)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "two-2.0.dist-info" / "RECORD").unlink()
    before = snapshot_tree(venv)
    assert main(["uninstall", "-y", "--python", str(venv), "one", "two"]) == 1
    assert "two 2.0: no RECORD file" in capsys.readouterr().err
    assert snapshot_tree(venv) == before
