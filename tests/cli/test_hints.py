"""Hints name a command that works for the input given (issue 11, "Messages"): a local variant
wheel that does not fit this machine points at ``varwheel explain ./path/to.whl``, which reads
that file, not ``varwheel explain NAME==VER``, which asks the indexes about another project."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.wheels import build_wheel, variant_json
from varwheel.cli import exitcodes
from varwheel.cli.main import main

# nothing listens on port 9 (discard): a command that asks this index fails at once
DEAD_INDEX = ["--index-url", "http://127.0.0.1:9/simple/"]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def _unfit_wheel(where: Path) -> Path:
    """A real variant wheel for an x86-64 level no machine has (v9)."""
    doc = variant_json(
        "x86_64_v9",
        ["x86_64 :: level :: v9"],
        providers={"x86_64": {"requires": ["provider-variant-x86-64"]}},
        namespace_priorities=["x86_64"],
    )
    return build_wheel(where, "tinypkg", "1.0", variant=doc)


def test_a_local_wheel_that_does_not_fit_suggests_explaining_that_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _unfit_wheel(tmp_path / "dist")
    venv = make_venv(tmp_path / "venv")
    given = f"./dist/{wheel.name}"
    argv = ["install", "--python", str(venv), *DEAD_INDEX, given]
    assert main(argv) == exitcodes.FAILURE
    err = capsys.readouterr().err
    assert "tinypkg==1.0" not in err
    hint = re.search(r"run `varwheel (explain [^`]+)` for details", err)
    assert hint is not None, err
    assert hint.group(1) == f"explain {given}"
    # the hint works as printed: it reads the file, never the (dead) index
    assert main([*shlex.split(hint.group(1)), "--python", str(venv), *DEAD_INDEX]) == 1
    out = capsys.readouterr().out
    assert f"{wheel.name} [x86_64_v9]: x86_64 :: level needs one of v9" in out


def test_a_wheel_outside_the_working_directory_is_named_by_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _unfit_wheel(tmp_path / "dist dir")
    venv = make_venv(tmp_path / "venv")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["install", "--python", str(venv), *DEAD_INDEX, str(wheel)]) == 1
    err = capsys.readouterr().err
    assert f"run `varwheel explain {shlex.quote(str(wheel))}` for details" in err
