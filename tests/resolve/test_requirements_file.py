"""Requirement strings and pip-style requirements files with hostile input (issue 7 "Inputs"):
numbers past ``int()``'s digit limit, NUL bytes, over-long and unusable paths are one-line
``InvalidInput`` errors naming the file and line (exit code 2), never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from helpers.hostile import HUGE, hostile_text, line_documents
from varwheel.cli.main import main
from varwheel.errors import InvalidInput, VarwheelError
from varwheel.resolve.requirement import ignored_by_markers, parse_requirement
from varwheel.resolve.requirements_file import (
    direct_wheel,
    parse_requirements_file,
    requirement_or_wheel,
)

LONG_NAME = "y" * 300  # one path component past NAME_MAX (255)


def _one_line(err: pytest.ExceptionInfo[InvalidInput]) -> str:
    message = str(err.value)
    assert "\n" not in message and "\x00" not in message
    return message


@pytest.mark.parametrize(
    "text",
    [f"demo>={HUGE}", f"demo==1.{HUGE}", f"demo==={HUGE}", f'demo; python_version > "{HUGE}"'],
)
def test_requirement_with_a_number_past_the_digit_limit(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_requirement(text)
    message = _one_line(err)
    assert message.startswith("command line: invalid requirement")
    assert "more than 4300 digits" in message and len(message) < 600


def test_marker_evaluation_never_raises_a_bare_value_error() -> None:
    from packaging.requirements import Requirement

    req = Requirement(f'demo; platform_release >= "{HUGE}"')  # built by hand, not parsed by us
    with pytest.raises(InvalidInput, match="cannot evaluate the marker"):
        ignored_by_markers([req], {"platform_release": "6.1"})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"demo>={HUGE}", "more than 4300 digits"),
        (f"demo-{HUGE}-py3-none-any.whl", "more than 4300 digits"),
        ("-r a\x00b.txt", "contains a NUL byte"),
        ("-c a\x00b.txt", "contains a NUL byte"),
        (f"-r {LONG_NAME}.txt", "File name too long"),
        (f"-c {LONG_NAME}.txt", "File name too long"),
        ("-f a\x00b", "contains a NUL byte"),
        (f"-f {LONG_NAME}", "File name too long"),
        ("a\x00b.whl", "contains a NUL byte"),
        (f"{LONG_NAME}.whl", "File name too long"),
        ("~nosuchuser_a5/demo-1.0-py3-none-any.whl", "cannot use"),
        ("demo @ file:///tmp/a%00b/demo-1.0-py3-none-any.whl", "contains a NUL byte"),
        (f"demo @ file:///tmp/{LONG_NAME}/demo-1.0-py3-none-any.whl", "File name too long"),
    ],
)
def test_hostile_lines_name_the_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    req = tmp_path / "req.txt"
    req.write_text(f"# first\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        parse_requirements_file(req)
    message = _one_line(err)
    assert message.startswith(f"{req}:2: ")
    assert reason in message


@pytest.mark.parametrize(
    ("name", "reason"), [("a\x00b.txt", "contains a NUL byte"), (LONG_NAME, "File name too long")]
)
def test_hostile_requirements_file_path(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_requirements_file(tmp_path / name)
    assert reason in _one_line(err)


def test_hostile_wheel_arguments() -> None:
    for text in ("a\x00b.whl", f"{LONG_NAME}.whl", "~nosuchuser_a5/x-1.0-py3-none-any.whl"):
        with pytest.raises(InvalidInput) as err:
            requirement_or_wheel(text)
        _one_line(err)
    assert direct_wheel("demo>=1") is None


def test_a_wheel_argument_that_is_a_fifo_or_directory_says_so(tmp_path: Path) -> None:
    """Before: "no such wheel file" for a FIFO or directory that exists."""
    os.mkfifo(tmp_path / "fifo-1.0-py3-none-any.whl")
    (tmp_path / "dir-1.0-py3-none-any.whl").mkdir()
    for name in ("fifo-1.0-py3-none-any.whl", "dir-1.0-py3-none-any.whl"):
        with pytest.raises(InvalidInput, match="is not a regular file"):
            requirement_or_wheel(str(tmp_path / name))
    with pytest.raises(InvalidInput, match="no such wheel file"):
        requirement_or_wheel(str(tmp_path / "gone-1.0-py3-none-any.whl"))


def test_cli_exit_code_2_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.cli import isolate_cli

    isolate_cli(tmp_path, monkeypatch)
    for line in ("-r a\x00b.txt", f"demo>={HUGE}", f"{LONG_NAME}.whl"):
        req = tmp_path / "req.txt"
        req.write_text(line + "\n", encoding="utf-8")
        assert main(["install", "--dry-run", "-r", str(req)]) == 2
        _, err = capsys.readouterr()
        assert err.count("\n") == 1 and "Traceback" not in err, err[:500]
        assert str(req) in err


# --------------------------------------------------------------------------- fuzz

_LINE_PIECES = (
    "demo",
    ">=",
    "==",
    "1.0",
    "[extra]",
    "; ",
    "python_version > ",
    '"3.9"',
    " @ ",
    "file:///",
    "https://h/",
    ".whl",
    "demo-1.0-py3-none-any.whl",
    "-r ",
    "-c ",
    "-f ",
    "-i ",
    "--hash=sha256:",
    "--pre",
    " \\\n",
    "\n",
    " #",
    "${HOME}",
    "${NOPE_A5}",
    f"demo>={HUGE}\n",
    f"demo; python_version < '{HUGE}'\n",
    "-r a\x00b\n",
    f"-c {LONG_NAME}\n",
    "-f a\x00b\n",
    f"{LONG_NAME}.whl\n",
    "~nosuchuser_a5/demo-1.0-py3-none-any.whl\n",
)


@settings(max_examples=300, deadline=None)
@given(hostile_text(_LINE_PIECES, max_parts=10))
def test_fuzz_requirement_strings(text: str) -> None:
    for call in (parse_requirement, requirement_or_wheel):
        try:
            call(text)
        except VarwheelError as err:
            assert "\n" not in str(err)


_VALID_LINES = ("demo>=1.0", "other[x]==2; python_version >= '3.9'", "--pre", "# note", "")
_HOSTILE_LINES = (
    f"demo>={HUGE}",
    f"demo; python_version < '{HUGE}'",
    f"demo-{HUGE}-py3-none-any.whl",
    "-r a\x00b",
    f"-c {LONG_NAME}",
    "-f a\x00b",
    f"-f {LONG_NAME}",
    f"{LONG_NAME}.whl",
    "a\x00b.whl",
    "~nosuchuser_a5/demo-1.0-py3-none-any.whl",
    "demo @ file:///x%00y/demo-1.0-py3-none-any.whl",
    f"demo @ file:///{LONG_NAME}/demo-1.0-py3-none-any.whl",
    "demo --hash=sha256:\x00",
    "-r \ud800",
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(line_documents(_VALID_LINES, _HOSTILE_LINES))
def test_fuzz_requirements_files(tmp_path: Path, data: bytes) -> None:
    req = tmp_path / "fuzz" / "req.txt"
    req.parent.mkdir(exist_ok=True)
    req.write_bytes(data)
    cwd = os.getcwd()
    os.chdir(req.parent)  # relative wheel paths resolve inside the scratch directory
    try:
        parse_requirements_file(req)
        parse_requirements_file(req, constraint=True)
    except VarwheelError as err:
        assert "\n" not in str(err), str(err)[:300]
    finally:
        os.chdir(cwd)
