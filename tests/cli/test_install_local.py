"""``install PATH`` (a project directory) and ``install -e PATH`` (PEP 660), built through
pypa/build with real backends (issue 11); freeze and show name the directory (PEP 610)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv, venv_python
from helpers.wheels import build_wheel, build_with_backend
from varwheel.cli.main import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def _project(tmp_path: Path, backend: str) -> Path:
    """A real project (``localpkg``, depending on ``dep``) written by the test helper."""
    src = tmp_path / f"proj-{backend}"
    modules = {"__init__.py": "VALUE = 'first'\n"}
    build_with_backend(
        src,
        tmp_path / "ignored",
        "localpkg",
        "0.1",
        backend=backend,
        modules=modules,
        dependencies=["dep>=1"],
    )
    return src


def _value(venv: Path) -> str:
    done = subprocess.run(
        [str(venv_python(venv)), "-c", "import localpkg; print(localpkg.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=venv,  # not a directory holding the sources
    )
    return done.stdout.strip()


def test_editable_install_follows_the_sources(tmp_path: Path, capsys) -> None:
    src = _project(tmp_path, "setuptools")
    links = tmp_path / "links"
    build_wheel(links, "dep", "1.0")
    venv = make_venv(tmp_path / "venv")
    argv = ["install", "--python", str(venv), "--no-index", "-f", str(links)]
    assert main([*argv, "--no-build-isolation", "-e", str(src)]) == 0, capsys.readouterr().err
    assert _value(venv) == "first"
    (src / "localpkg" / "__init__.py").write_text("VALUE = 'edited'\n")
    assert _value(venv) == "edited"  # the installed project is the source tree itself
    capsys.readouterr()
    assert main(["freeze", "--python", str(venv)]) == 0
    assert capsys.readouterr().out.splitlines() == ["dep==1.0", f"-e {src.resolve().as_uri()}"]
    assert main(["show", "--json", "--python", str(venv), "localpkg"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["direct_url"] == {"url": src.resolve().as_uri(), "dir_info": {"editable": True}}
    assert doc["requires"] == ["dep"]


def test_project_directory_is_built_and_installed(tmp_path: Path, capsys, monkeypatch) -> None:
    src = _project(tmp_path, "hatchling")
    links = tmp_path / "links"
    build_wheel(links, "dep", "1.0")
    venv = make_venv(tmp_path / "venv")
    monkeypatch.chdir(src)
    argv = ["install", "--python", str(venv), "--no-index", "-f", str(links)]
    assert main([*argv, "--no-build-isolation", "."]) == 0, capsys.readouterr().err
    (src / "localpkg" / "__init__.py").write_text("VALUE = 'edited'\n")
    assert _value(venv) == "first"  # a regular install: a copy of the sources
    capsys.readouterr()
    assert main(["freeze", "--python", str(venv)]) == 0
    assert f"localpkg @ {src.resolve().as_uri()}" in capsys.readouterr().out.splitlines()


def test_editable_without_isolation_names_missing_build_requirements(
    tmp_path: Path, capsys
) -> None:
    """hatchling's PEP 660 hook needs ``editables``, which this interpreter lacks: one line."""
    pytest.importorskip("hatchling")
    src = _project(tmp_path, "hatchling")
    venv = make_venv(tmp_path / "venv")
    code = main(["install", "--python", str(venv), "--no-build-isolation", "-e", str(src)])
    err = capsys.readouterr().err
    try:
        import editables  # noqa: F401
    except ImportError:
        assert code == 1
        assert "build requirements missing without isolation: editables" in err
    else:  # with editables installed here, hatchling builds it
        assert code == 0, err


def test_not_a_project(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    venv = make_venv(tmp_path / "venv")
    assert main(["install", "--python", str(venv), "--no-index", "-e", "empty"]) == 2
    assert "empty: neither pyproject.toml nor setup.py" in capsys.readouterr().err
