"""cli/main.py: one terminal-safe error line, lazy command loading, quiet broken pipes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.cli import modules_after
from varwheel.cli import exitcodes
from varwheel.cli import main as cli_main


def _varwheel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )


def test_error_lines_escape_control_characters(tmp_path: Path) -> None:
    bad = tmp_path / "evil\x1b[2Jname-variants.json"
    bad.write_text("{not json")
    done = _varwheel("inspect", str(bad))
    assert done.returncode == 2
    assert "\x1b" not in done.stderr
    assert done.stderr.count("\n") == 1 and "\\x1b" in done.stderr


def test_only_the_requested_command_module_is_loaded() -> None:
    parser = cli_main.build_parser("label")
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"label"}
    full = cli_main.build_parser(None)
    sub_all = next(a for a in full._actions if a.dest == "command")
    assert set(sub_all.choices) == set(cli_main.COMMANDS)


def test_unknown_command_and_no_command_are_usage_errors() -> None:
    assert _varwheel("bogus").returncode == 2
    none = _varwheel()
    assert none.returncode == 2 and "usage:" in none.stderr


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "varwheel", "label", "-p", "a :: b :: c"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes away before varwheel writes
    _, err = proc.communicate()
    assert b"Traceback" not in err


# --- Ctrl-C at any moment ----------------------------------------------------------------------


def _stalled_argparse(tmp_path: Path) -> tuple[list[str], dict[str, str], Callable[[], bool]]:
    """A slow start-up import: a module on PYTHONPATH shadows the stdlib ``argparse`` and
    stalls (a cold disk, a slow network file system) after saying so."""
    shadow = tmp_path / "slow-imports"
    shadow.mkdir()
    ready = tmp_path / "importing"
    (shadow / "argparse.py").write_text(
        f"import time\nopen({str(ready)!r}, 'w').close()\ntime.sleep(60)\n"
    )
    return ["label", "-p", "a :: b :: c"], {"PYTHONPATH": str(shadow)}, ready.exists


_OPEN_WRITERS: list[object] = []


def _stalled_requirements_file(
    tmp_path: Path,
) -> tuple[list[str], dict[str, str], Callable[[], bool]]:
    """``-r FILE`` where FILE is a pipe nobody writes to yet (``-r <(slow command)``)."""
    fifo = tmp_path / "requirements.txt"
    os.mkfifo(fifo)

    def reading() -> bool:
        try:  # succeeds once varwheel has the pipe open for reading; it then waits for data
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        # the write end stays open (no EOF) until the test's tmp_path goes; closed at exit
        _OPEN_WRITERS.append(os.fdopen(fd, "wb"))
        return True

    return ["install", "--dry-run", "-r", str(fifo)], {}, reading


def _stalled_interpreter_probe(
    tmp_path: Path,
) -> tuple[list[str], dict[str, str], Callable[[], bool]]:
    """``--python`` names an interpreter that takes its time to answer the facts query."""
    ready = tmp_path / "probing"
    slow = tmp_path / "slow-python"
    slow.write_text(f"#!/bin/sh\ntouch {ready}\nsleep 60\n")
    slow.chmod(0o755)
    return ["list", "--python", str(slow)], {}, ready.exists


@pytest.mark.slow
@pytest.mark.parametrize(
    "stall",
    [_stalled_argparse, _stalled_requirements_file, _stalled_interpreter_probe],
    ids=["start-up-import", "reading-requirements", "probing-interpreter"],
)
def test_ctrl_c_anywhere_exits_130_with_one_line(
    tmp_path: Path, stall: Callable[[Path], tuple[list[str], dict[str, str], Callable[[], bool]]]
) -> None:
    argv, extra, ready = stall(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(extra, VARWHEEL_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "varwheel", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never reached the stall"
        time.sleep(0.02)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    while _OPEN_WRITERS:
        _OPEN_WRITERS.pop().close()  # type: ignore[attr-defined]
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert err == "varwheel: error: interrupted\n"
    assert out == ""


# --- the last resort: what no layer turned into a VarwheelError ----------------------------------


def _raised(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as err:
        return err
    raise AssertionError("nothing was raised")


def _recurse(depth: int = 0) -> int:
    return _recurse(depth + 1) + 1


def test_last_resort_maps_real_exceptions_to_one_line(tmp_path: Path) -> None:
    long_name = str(tmp_path / ("a" * 5000))
    code, line = exitcodes.last_resort(_raised(lambda: Path(long_name).read_bytes()))  # type: ignore[misc]
    assert code == exitcodes.INVALID_INPUT
    assert line.endswith(f"({len(long_name)} characters): File name too long") and len(line) < 200
    missing = exitcodes.last_resort(_raised((tmp_path / "missing").read_bytes))
    assert missing == (
        exitcodes.INVALID_INPUT,
        f"{tmp_path / 'missing'}: No such file or directory",
    )
    assert exitcodes.last_resort(_raised(lambda: int("1" * 5000))) == (
        exitcodes.INVALID_INPUT,
        "the input has an integer with more than 4300 digits (Python's limit)",
    )
    assert exitcodes.last_resort(_raised(lambda: os.stat("a\0b"))) == (
        exitcodes.INVALID_INPUT,
        "a path or argument contains a NUL byte",
    )
    assert exitcodes.last_resort(_raised(_recurse))[0] == exitcodes.INVALID_INPUT
    unicode_code, unicode_line = exitcodes.last_resort(_raised(lambda: "x\udcff".encode()))  # type: ignore[misc]
    assert unicode_code == exitcodes.INVALID_INPUT and "surrogates not allowed" in unicode_line
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        refused = _raised(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
    assert exitcodes.last_resort(refused)[0] == exitcodes.NETWORK_FAILURE  # type: ignore[index]
    # anything else is a bug and keeps its traceback
    assert exitcodes.last_resort(_raised(lambda: 1 / 0)) is None
    assert exitcodes.last_resort(ValueError("some other value")) is None


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "--no-index", "-f", "a" * 5000, "anything"],
        ["explain", "--no-index", "x==" + "1" * 5000],
        ["list", "--python", "b" * 5000],
    ],
    ids=["over-long-path", "4300-digit-limit", "over-long-python"],
)
def test_cli_inputs_that_used_to_crash_are_one_line(tmp_path: Path, argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["VARWHEEL_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "varwheel", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == exitcodes.INVALID_INPUT, done.stderr
    errors = [line for line in done.stderr.splitlines() if not line.startswith("Explaining for")]
    assert len(errors) == 1 and errors[0].startswith("varwheel: error: "), done.stderr
    assert len(errors[0]) < 500  # shortened, not the 5000-character input
    verbose = subprocess.run(
        [sys.executable, "-m", "varwheel", "-v", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" in verbose.stderr  # -v shows what happened
    assert verbose.returncode == done.returncode  # ... and keeps the documented exit code


# --- start-up: what a run imports (issue 10) -----------------------------------------------------

# third-party layers that only running a command may need
_HEAVY = ("packaging", "rich", "urllib3", "resolvelib", "installer", "build", "tomli_w")


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in _HEAVY}


def test_version_imports_neither_the_parser_nor_any_layer() -> None:
    modules, done = modules_after("--version")
    assert done.returncode == 0 and done.stdout.startswith("varwheel ")
    ours = {m for m in modules if m.split(".")[0] == "varwheel"}
    assert ours <= {"varwheel", "varwheel.__main__", "varwheel.cli", "varwheel.cli.main",
                    "varwheel.cli.exitcodes", "varwheel.errors"}  # fmt: skip
    assert not _heavy(modules)
    assert "argparse" not in modules


def test_top_level_help_imports_no_command() -> None:
    modules, done = modules_after("--help")
    assert done.returncode == 0 and "install" in done.stdout
    assert not {m for m in modules if m.startswith("varwheel.cli.cmd_")}
    assert not {m for m in modules if m.split(".")[0] == "varwheel"} - {
        "varwheel", "varwheel.__main__", "varwheel.cli", "varwheel.cli.main",
        "varwheel.cli.exitcodes", "varwheel.errors",
    }  # fmt: skip
    assert not _heavy(modules)


def test_command_help_imports_that_command_alone() -> None:
    modules, done = modules_after("install", "--help")
    assert done.returncode == 0 and "--find-links" in done.stdout
    assert {m for m in modules if m.startswith("varwheel.cli.cmd_")} == {"varwheel.cli.cmd_install"}
    assert not _heavy(modules)
    # settings' and target's dataclasses wait until the command runs
    assert not {"varwheel.settings", "varwheel.target", "dataclasses"} & modules


def test_summaries_are_the_commands_own_help_lines() -> None:
    full = cli_main.build_parser(None)
    sub = next(a for a in full._actions if a.dest == "command")
    assert {a.dest: a.help for a in sub._choices_actions} == cli_main.SUMMARIES
    assert full.format_help() == cli_main.build_parser(None, summaries=True).format_help()


def test_a_command_without_summary_is_still_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(cli_main.SUMMARIES, "unmake-variant")
    parser = cli_main.build_parser(None, summaries=True)
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(cli_main.COMMANDS)
    assert "turn a variant wheel back" in parser.format_help()


def test_local_and_no_op_installs_import_only_what_they_use(tmp_path: Path) -> None:
    from tests.helpers.envs import make_venv, venv_python
    from tests.helpers.wheels import build_wheel

    links = tmp_path / "links"
    build_wheel(links, "noopdemo", "1.0")
    python = str(venv_python(make_venv(tmp_path / "venv")))
    install = ("install", "--python", python, "--no-index", "--find-links", str(links))
    modules, first = modules_after(*install, "noopdemo")
    assert first.returncode == 0, first.stderr
    # a local install with no plugin, no trust pin, no index page and no pip.conf loads none of
    # what those need (issue 10: each command imports only what it uses)
    assert not {
        "varwheel.providers.runner", "varwheel.providers.trust", "varwheel.index.html",
        "html", "urllib3", "varwheel.lock.read",
    } & modules  # fmt: skip
    modules, again = modules_after(*install, "noopdemo")
    assert again.returncode == 0 and "noopdemo" in again.stdout + again.stderr
    # the pylock.toml reader is for `-r pylock.toml` only; rich for a terminal only
    assert not {"varwheel.lock.read", "packaging.pylock", "varwheel.cli.cmd_sync"} & modules
    assert not {m for m in modules if m.split(".")[0] == "rich"}
    assert "Requirement already satisfied: noopdemo 1.0" in again.stdout


def test_provider_timeout_help_shows_the_settings_default() -> None:
    from varwheel.cli import provider_options
    from varwheel.settings import DEFAULT_PROVIDER_TIMEOUT

    assert provider_options.DEFAULT_TIMEOUT == DEFAULT_PROVIDER_TIMEOUT


def test_every_command_is_in_the_readme_and_the_pip_uv_comparison() -> None:
    """The README command table and docs/pip-uv-comparison.md (issue 11) name every command."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    comparison = (root / "docs" / "pip-uv-comparison.md").read_text(encoding="utf-8")
    assert "docs/pip-uv-comparison.md" in readme
    for command in cli_main.COMMANDS:
        assert f"varwheel {command}" in readme or f"`{command}" in readme, command
    for command in ("install", "download", "uninstall", "list", "show", "freeze", "check", "lock"):
        assert f"`varwheel {command}" in comparison, command
