"""A cloned project is untrusted input: ``varwheel build``/``matrix``/``check`` on hostile trees
(links leading outside, link loops, FIFOs, a pyproject.toml that is a FIFO or a link to /etc,
TOML a parser cannot take). Each is one line and exit 2, quickly, with nothing written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_frontend import MATRIX, fake_project

from helpers.cli import isolate_cli
from varwheel.build.frontend import build_wheel
from varwheel.build.source_tree import UnsafeSourceTree, copy_source
from varwheel.cli.main import main


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def _one_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("varwheel: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("target", ["file", "root"])
def test_a_link_leading_outside_the_project_is_refused(tmp_path: Path, capsys, target: str) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("SECRET")
    src = fake_project(tmp_path / "src")
    # a file from elsewhere, or the whole file system (the old copy walked all of / here)
    os.symlink(outside if target == "file" else "/", src / "leak")
    out = tmp_path / "o"
    assert main(["build", str(src), "--no-isolation", "-o", str(out)]) == 2
    _one_error(capsys, f"{src / 'leak'}: a symbolic link to ", "outside the project")
    assert not out.exists()


def test_links_inside_the_project_are_copied_as_links_and_loops_end(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src")
    (src / "pkg").mkdir()
    (src / "pkg" / "data.txt").write_text("data")
    os.symlink("pkg/data.txt", src / "alias.txt")
    os.symlink(str(src / "pkg"), src / "pkg" / "self")  # absolute, back to its own directory
    os.symlink("loop-b", src / "loop-a")  # a link loop: resolves nowhere, never followed
    os.symlink("loop-a", src / "loop-b")
    copy = copy_source(src, tmp_path / "copy")
    assert (copy / "alias.txt").read_text() == "data"
    assert os.readlink(copy / "alias.txt") == "pkg/data.txt"
    # rewritten relative: the copy never points back into the user's tree
    assert os.readlink(copy / "pkg" / "self") == "."
    assert os.path.islink(copy / "loop-a") and os.path.islink(copy / "loop-b")
    wheel = build_wheel(src, tmp_path / "dist", isolation=False)
    assert zipfile.ZipFile(wheel).namelist()  # the backend builds in such a copy


def test_a_fifo_is_refused_a_socket_skipped(tmp_path: Path, capsys) -> None:
    src = fake_project(tmp_path / "src")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "daemon.ipc"))  # as git's fsmonitor leaves in .git/
    try:
        copy = copy_source(src, tmp_path / "copy")
        assert not (copy / "daemon.ipc").exists()
        os.mkfifo(src / "pipe")
        with pytest.raises(UnsafeSourceTree, match="named pipe"):
            copy_source(src, tmp_path / "copy2")
        out = tmp_path / "o"
        assert main(["build", str(src), "--no-isolation", "-o", str(out)]) == 2
        _one_error(capsys, f"{src / 'pipe'}: a named pipe or device file")
        assert not out.exists()
    finally:
        sock.close()


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,  # the old reader blocked forever on a FIFO
    )


@pytest.mark.parametrize("command", [["matrix"], ["check"], ["build", "--show-settings"]])
def test_a_pyproject_that_is_a_fifo_does_not_block(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "p").mkdir()
    os.mkfifo(tmp_path / "p" / "pyproject.toml")
    (tmp_path / "p" / "setup.py").write_text("")
    done = _run(*command, "p", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "p/pyproject.toml: not a regular file" in done.stderr or "no wheels" in done.stderr


def test_a_pyproject_linking_outside_the_project_is_not_read(tmp_path: Path, capsys) -> None:
    (tmp_path / "p").mkdir()
    os.symlink("/etc/passwd", tmp_path / "p" / "pyproject.toml")
    for command in (["matrix", "p"], ["build", "p", "--no-isolation", "-o", "o"]):
        assert main(command) == 2
        _one_error(capsys, "p/pyproject.toml: a symbolic link to /etc/passwd, outside the project")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (f"\n[tool.x]\nn = {'9' * 5000}\n", "an integer with more than 4300 digits"),
        ("\n[tool.x]\nn = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
        ("\n[tool.x]\nn = '\xff'\n", None),
    ],
)
def test_toml_a_parser_cannot_take_names_the_file(
    tmp_path: Path, capsys, tail: str, reason: str | None
) -> None:
    src = fake_project(tmp_path / "src", matrix=MATRIX)
    with open(src / "pyproject.toml", "a", encoding="latin-1") as fh:
        fh.write(tail)
    pyproject = src / "pyproject.toml"
    for command in (
        ["build", str(src), "--no-isolation", "-o", "o"],
        ["matrix", str(src)],
        ["check", str(src)],
    ):
        assert main(command) == 2
        _one_error(capsys, f"{pyproject}: invalid TOML: ", reason or "not UTF-8")


def test_planted_build_outputs_and_environments_stay_out_of_the_copy(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src")
    planted = {
        "build/lib/demo/evil.py": "stale object of another variant",
        "dist/old.whl": "old",
        "demo.egg-info/PKG-INFO": "stale",
        "env/pyvenv.cfg": "home = /usr",
        "pkg/__pycache__/x.pyc": "",
        ".varwheel-all-x/y.whl": "staging of a run with -o inside the tree",
    }
    for name, text in planted.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    (src / "pkg" / "build").mkdir()  # a package's own build/ below the top is source
    (src / "pkg" / "build" / "__init__.py").write_text("")
    copy = copy_source(src, tmp_path / "copy")
    found = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert found == ["fakebackend.py", "pkg/build/__init__.py", "pyproject.toml"]


def test_a_huge_pyproject_is_not_read(tmp_path: Path, capsys) -> None:
    src = fake_project(tmp_path / "src")
    with open(src / "pyproject.toml", "r+b") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of NULs after the table
    assert main(["matrix", str(src)]) == 2
    _one_error(capsys, f"{src / 'pyproject.toml'}: larger than 16777216 bytes; not read")
