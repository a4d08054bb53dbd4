"""cli/main.py: one terminal-safe error line, lazy command loading, quiet broken pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
