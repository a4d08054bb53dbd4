"""cli/plain.py: the text rich would print on a non-terminal, without importing rich."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.markup import escape as rich_escape

from varwheel.cli.plain import PlainConsole, escape, make_console, strip_markup

# markup's own characters, control characters rich drops, wide and C1 characters; no tabs
# (rich expands them, PlainConsole keeps them) and no ``:`` (rich's emoji codes)
_TEXT = st.text(alphabet=st.sampled_from("ab[]/\\#@ x=\r\x07\x1bé漢\x85\n"), max_size=20)


def _rich(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, soft_wrap=True, highlight=False).print(markup)
    return out.getvalue()


@given(_TEXT)
def test_escape_is_riches(text: str) -> None:
    assert escape(text) == rich_escape(text)


@given(_TEXT, st.sampled_from(["[bold]{}[/]", "x {} [red]y[/]", "  {}: [bold green]ok[/]"]))
def test_plain_text_is_what_rich_prints(text: str, template: str) -> None:
    markup = template.format(escape(text))
    assert strip_markup(markup) + "\n" == _rich(markup)


def test_plain_console_writes_to_the_stream_of_the_moment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    PlainConsole().print("[bold]Successfully installed[/] " + escape("a[b]-1.0"))
    PlainConsole(stderr=True).print("to stderr")
    PlainConsole(quiet=True).print("never")
    out, err = capsys.readouterr()
    assert out == "Successfully installed a[b]-1.0\n" and err == "to stderr\n"


def test_rich_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert isinstance(make_console(), PlainConsole)  # pytest captures: not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert type(make_console(highlight=False)).__name__ == "Console"


def test_importing_it_imports_no_rich() -> None:
    code = "import sys, varwheel.cli.plain; print(any(m.startswith('rich') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
