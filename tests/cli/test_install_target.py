"""``install --target DIR`` (issue 11; pip's flag): a plain directory, importable through
PYTHONPATH, for the named (or running) interpreter; the environment itself is untouched."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree, venv_python
from helpers.wheels import build_wheel
from varwheel.cli.main import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def test_install_into_a_directory(tmp_path: Path, capsys) -> None:
    links = tmp_path / "links"
    build_wheel(
        links,
        "tool",
        "1.0",
        requires_dist=["helper>=1"],
        files={"tool/__init__.py": "def main():\n    print('tool ran')\n"},
        entry_points={"console_scripts": {"tool": "tool:main"}},
    )
    build_wheel(links, "helper", "1.0", files={"helper/__init__.py": "X = 41\n"})
    build_wheel(links, "helper", "2.0", files={"helper/__init__.py": "X = 42\n"})
    venv = make_venv(tmp_path / "venv")
    before = snapshot_tree(venv)
    argv = ["install", "--python", str(venv), "--no-index", "-f", str(links), "-t", "lib"]
    assert main([*argv, "tool", "helper<2"]) == 0
    assert "Successfully installed" in capsys.readouterr().out
    target = tmp_path / "lib"
    assert (target / "tool" / "__init__.py").is_file()
    assert (target / "helper-1.0.dist-info" / "RECORD").is_file()
    assert snapshot_tree(venv) == before  # the interpreter's environment is not touched
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [str(venv_python(venv)), "-c", "import helper, tool; print(helper.X)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "41\n"
    script = target / "bin" / "tool"
    assert script.read_text().startswith(f"#!{venv_python(venv)}")
    # what the directory holds is the environment: kept when it satisfies, -U replaces it
    assert main([*argv, "--json", "tool"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["installed"] == [] and doc["target_environment"]["prefix"] == str(target)
    assert main([*argv, "-U", "helper"]) == 0
    assert (target / "helper-2.0.dist-info").is_dir()
    assert not (target / "helper-1.0.dist-info").exists()


def test_target_must_be_a_directory(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    assert main(["install", "--no-index", "--target", "file", "x"]) == 2
    assert "--target file: not a directory" in capsys.readouterr().err
