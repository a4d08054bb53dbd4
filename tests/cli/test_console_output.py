"""Terminal output (issue 11, "Messages"): ``NO_COLOR`` leaves no ANSI styling, ``FORCE_COLOR``
styles a pipe, and download progress stays one row per file at 80 columns (a long wheel name
pushed the size and speed onto a second line the next refresh could not erase)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from helpers.cli import isolate_cli
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel
from varwheel.cli.main import main
from varwheel.cli.plain import PlainConsole, make_console
from varwheel.cli.render import ConsoleReporter
from varwheel.index.client import IndexClient
from varwheel.index.static import write_static_index

_SGR = re.compile(r"\x1b\[[0-9;]*m")
_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SIZE = re.compile(r"[0-9.]+/[0-9.]+ [kMG]?B")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def _printed(console: object, markup: str) -> str:
    out = io.StringIO()
    console.file = out  # type: ignore[attr-defined]
    console.print(markup)  # type: ignore[attr-defined]
    return out.getvalue()


def test_force_color_styles_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    console = make_console(highlight=False)
    assert isinstance(console, Console)
    assert "\x1b[1;31m" in _printed(console, "[bold red]rejected[/]")


def test_no_color_wins_and_leaves_no_styling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    text = _printed(make_console(highlight=False), "[bold red]rejected[/] [green]ok[/]")
    assert text == "rejected ok\n"


def test_a_pipe_without_force_color_is_plain() -> None:
    assert isinstance(make_console(), PlainConsole)


def test_explain_honours_no_color_and_force_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_wheel(tmp_path / "links", "tinypkg", "1.0")
    argv = ["explain", "--no-index", "-f", str(tmp_path / "links"), "tinypkg"]
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(argv) == 0
    assert _SGR.search(capsys.readouterr().out)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "chosen: tinypkg-1.0-py3-none-any.whl" in out


def test_download_progress_is_one_row_per_file_at_80_columns(tmp_path: Path) -> None:
    names = [f"a-package-with-quite-a-long-name-number-{i}" for i in range(3)]
    wheels = [
        build_wheel(tmp_path / "w", n, "1.0", files={"x/data.bin": os.urandom(400_000)})
        for n in names
    ]
    site = write_static_index(wheels, tmp_path / "site")
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, color_system=None)
    reporter = ConsoleReporter(console)
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        files = [next(f for f in client.project_files(n) if f.is_wheel) for n in names]
        with reporter.downloads(len(files)) as callback:
            paths = client.download_many(files, tmp_path / "dl", callback)
    assert [p.name for p in paths] == [w.name for w in wheels]
    rows = [r for r in re.split(r"[\r\n]", _CSI.sub("", out.getvalue())) if r.strip()]
    assert rows, "the progress bar drew nothing"
    for row in rows:
        assert len(row) <= 80, row
        # the name and its size on one row, never a size wrapped onto a row of its own
        assert "a_package_with" in row and _SIZE.search(row), rows
