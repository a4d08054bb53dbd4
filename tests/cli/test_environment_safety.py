"""Which environment a command acts on, and when it refuses (issue 7, "environment safety").

Every case runs the real CLI as a subprocess against real interpreters: bare venvs, and a
"system" interpreter copied under tmp (tests/helpers/system_python.py) whose own sysconfig
``stdlib`` directory holds a PEP 668 ``EXTERNALLY-MANAGED`` file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.envs import make_venv, snapshot_tree
from helpers.system_python import make_system_python
from helpers.wheels import build_wheel
from varwheel.cli import exitcodes
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions

pytestmark = pytest.mark.slow

MANAGED = """[externally-managed]
Error=This Python is managed by the test distributor;
 use a virtual environment.
"""


def varwheel(
    cwd: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m varwheel ARGV`` in ``cwd`` with its own cache and config and no venv
    activated (nor pip's/varwheel's break-system-packages variables), plus ``env``."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PIP_BREAK_SYSTEM_PACKAGES", "VARWHEEL_BREAK_SYSTEM_PACKAGES")
    }
    (cwd / "config.toml").touch()
    environ.update(VARWHEEL_CACHE_DIR=str(cwd / "cache"), VARWHEEL_CONFIG=str(cwd / "config.toml"))
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *argv],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path / "links", "tinypkg", "1.0", files={"tinypkg/__init__.py": ""})


def test_externally_managed_interpreter_is_refused_for_install_and_uninstall(
    tmp_path: Path, wheel: Path
) -> None:
    """pip and uv refuse a PEP 668 interpreter; so does varwheel, dry run included, unless
    --break-system-packages (or VARWHEEL_/PIP_BREAK_SYSTEM_PACKAGES=1)."""
    python = make_system_python(tmp_path / "sys", externally_managed=MANAGED)
    before = snapshot_tree(tmp_path / "sys")
    args = ("--python", str(python), "--no-index", str(wheel))
    for argv in (("install", *args), ("install", "--dry-run", *args)):
        done = varwheel(tmp_path, *argv)
        assert done.returncode == exitcodes.INVALID_INPUT, done.stderr
        assert done.stderr == (
            f"varwheel: error: {python} is externally managed (PEP 668): This Python is managed "
            "by the test distributor; use a virtual environment. Hint: create a virtual "
            "environment (`python -m venv .venv`) and install there, or pass "
            "--break-system-packages to install anyway\n"
        )
        assert done.stdout == ""
    assert snapshot_tree(tmp_path / "sys") == before

    done = varwheel(tmp_path, "install", "--break-system-packages", *args)
    assert done.returncode == 0, done.stderr
    env = find_target_environment(str(python))
    assert env.purelib == tmp_path / "sys" / "lib" / python.resolve().name / "site-packages"
    assert (env.purelib / "tinypkg" / "__init__.py").is_file()

    refused = varwheel(tmp_path, "uninstall", "-y", "--python", str(python), "tinypkg")
    assert refused.returncode == exitcodes.INVALID_INPUT
    assert "externally managed (PEP 668)" in refused.stderr
    assert "tinypkg" in installed_distributions(env)
    allowed = varwheel(
        tmp_path,
        *("uninstall", "-y", "--python", str(python), "tinypkg"),
        env={"PIP_BREAK_SYSTEM_PACKAGES": "1"},
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "tinypkg" not in installed_distributions(env)
    again = varwheel(tmp_path, "install", *args, env={"VARWHEEL_BREAK_SYSTEM_PACKAGES": "true"})
    assert again.returncode == 0, again.stderr


def test_python_version_request_finds_the_interpreter_on_path(tmp_path: Path, wheel: Path) -> None:
    """``--python 3.X`` (also ``cpython@3.X``) as uv: the first matching interpreter on PATH;
    a system one found so still needs --break-system-packages when externally managed."""
    python = make_system_python(tmp_path / "sys", externally_managed=MANAGED)
    major, minor = sys.version_info[:2]
    path = {"PATH": f"{python.parent}{os.pathsep}/usr/bin:/bin"}
    refused = varwheel(
        tmp_path, "install", "--python", f"{major}.{minor}", "--no-index", str(wheel), env=path
    )
    assert refused.returncode == exitcodes.INVALID_INPUT
    assert "externally managed (PEP 668)" in refused.stderr
    done = varwheel(
        tmp_path,
        *("install", "--python", f"cpython@{major}.{minor}", "--break-system-packages"),
        *("--no-index", str(wheel)),
        env=path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"Using environment {tmp_path / 'sys'} (system Python "
        f"{'.'.join(map(str, sys.version_info[:3]))} at {python.parent / f'python{major}.{minor}'}"
        ", --python)"
    )
    listed = varwheel(tmp_path, "list", "--json", "--python", f"{major}.{minor}", env=path)
    assert [d["name"] for d in json.loads(listed.stdout)] == ["tinypkg"]


def test_every_install_and_uninstall_names_its_environment(tmp_path: Path, wheel: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    full = ".".join(map(str, sys.version_info[:3]))
    done = varwheel(
        tmp_path,
        *("install", "--python", str(venv), "--no-index", "--report", "report.json", str(wheel)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == f"Using environment {venv} (Python {full}, --python)"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target_environment"] == {
        "prefix": str(venv),
        "python": str(venv / "bin" / "python"),
        "python_full_version": full,
        "virtualenv": True,
        "source": "--python",
    }
    done = varwheel(tmp_path, "uninstall", "-y", "tinypkg", env={"VIRTUAL_ENV": str(venv)})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"Using environment {venv} (Python {full}, from $VIRTUAL_ENV)"
    )
    project = tmp_path / "project"
    make_venv(project / ".venv")
    done = varwheel(project, "install", "--dry-run", "--no-index", str(wheel))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"Using environment {project / '.venv'} (Python {full}, found at ./.venv)"
    )


def test_a_dry_run_without_a_target_fails_like_the_real_run(tmp_path: Path, wheel: Path) -> None:
    """It used to report on varwheel's own venv ("Requirement already satisfied")."""
    real = varwheel(tmp_path, "install", "--no-index", "-f", str(wheel.parent), "tinypkg")
    dry = varwheel(tmp_path, "install", "--dry-run", "--no-index", "-f", str(wheel.parent), "pip")
    assert real.returncode == dry.returncode == exitcodes.INVALID_INPUT
    assert (
        real.stderr
        == dry.stderr
        == (
            "varwheel: error: no target environment: create one with `python -m venv .venv` or "
            "pass --python\n"
        )
    )
    assert dry.stdout == ""


def test_explain_without_a_target_says_whose_tags_it_uses(tmp_path: Path, wheel: Path) -> None:
    done = varwheel(tmp_path, "explain", "--json", "--no-index", "-f", str(wheel.parent), "tinypkg")
    assert done.returncode == 0, done.stderr
    running = Path(sys.executable)
    target = json.loads(done.stdout)["target_environment"]
    assert target["source"] == "running interpreter" and target["python"] == str(running)
    assert done.stderr.splitlines() == [
        f"Explaining for {sys.prefix} (Python {'.'.join(map(str, sys.version_info[:3]))}, "
        "the running interpreter)"
    ]


def _trap_venv(project: Path) -> Path:
    """A committed ``./.venv`` whose ``bin/python`` is attacker code: it leaves a marker file,
    then behaves as a Python would (so a command that runs it would not notice)."""
    venv = make_venv(project / ".venv")
    python = venv / "bin" / "python"
    python.rename(venv / "bin" / "python-real")  # still this venv's interpreter (pyvenv.cfg)
    marker = project / "pwned"
    python.write_text(f'#!/bin/sh\necho ran >> {marker}\nexec "$0-real" "$@"\n')
    python.chmod(0o755)
    return marker


def test_explain_never_runs_a_project_venv(tmp_path: Path, wheel: Path) -> None:
    """Read-only commands do not execute a ./.venv found in the working directory; install,
    uninstall and list use it (as uv), and name it."""
    project = tmp_path / "cloned"
    marker = _trap_venv(project)
    links = ("--no-index", "-f", str(wheel.parent))
    done = varwheel(project, "explain", *links, "tinypkg")
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert done.stderr.splitlines()[-1].endswith(
        "the running interpreter); ./.venv is not run by explain: pass --python .venv to "
        "explain for it"
    )
    done = varwheel(project, "explain", "--python", ".venv", *links, "tinypkg")
    assert done.returncode == 0, done.stderr
    assert marker.exists()  # named by the user: used
    done = varwheel(project, "list")  # acts on the project's environment, and names it
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"Using environment {project / '.venv'} (Python ")
    assert "found at ./.venv" in done.stderr


def test_explain_for_another_machine_names_the_flags(tmp_path: Path, wheel: Path) -> None:
    target = ("--python-version", "3.12", "--platform", "manylinux_2_28_x86_64")
    done = varwheel(tmp_path, "explain", "--no-index", "-f", str(wheel.parent), *target, "tinypkg")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "Explaining for --python-version 3.12 --platform manylinux_2_28_x86_64, the other facts "
        f"from {sys.prefix} (running interpreter)"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["uninstall", "-y", "tinypkg"],
        ["install", "--no-index", "tinypkg"],
        ["install", "--dry-run", "--no-index", "tinypkg"],
    ],
    ids=["list", "uninstall", "install", "dry-run"],
)
def test_a_stuck_transaction_is_one_line_naming_the_settling_command(
    tmp_path: Path, argv: list[str]
) -> None:
    """A journal varwheel cannot trust (here: forged, naming a directory outside the venv)
    stops every command with the same line (exit 1), before anything is read or written."""
    venv = make_venv(tmp_path / "venv")
    txn = venv / ".varwheel" / "txn"
    txn.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data").write_text("keep me")
    (txn / "journal.json").write_text(json.dumps({"op": "install", "place": [str(victim)]}))
    before = (snapshot_tree(venv), snapshot_tree(victim))  # varwheel's own .varwheel aside
    done = varwheel(tmp_path, *argv, "--python", str(venv))
    assert done.returncode == exitcodes.FAILURE, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"Using environment {venv} ") and len(lines) == 2, done.stderr
    assert lines[1].startswith(f"varwheel: error: {venv}: ")
    assert f"`varwheel list --python {venv}`" in lines[1]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert (snapshot_tree(venv), snapshot_tree(victim)) == before
