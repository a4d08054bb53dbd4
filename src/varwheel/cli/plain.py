"""Console output without rich, for when it does not go to a terminal (pipes, files, CI logs).

rich costs ~40 ms of start-up and brings nothing to a pipe: no colour, no progress bar. The
commands print rich markup (``[bold]...[/]``, text passed through ``escape``); ``PlainConsole``
prints the same text as rich would on a non-terminal with ``soft_wrap=True``, without the tags.
Unlike rich it never turns ``:name:`` into an emoji (file names and requirements are printed as
they are) and leaves tabs as they are (rich expands them to 8-cell stops).
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO, Any

# rich's markup: a tag opens with ``[`` and a letter, ``#``, ``/`` or ``@``; backslashes before it
# escape it (two backslashes are one literal backslash).
_TAG = r"(\\*)(\[[a-z#/@][^[]*?])"
# the control characters rich's Text drops (bell, backspace, vertical tab, form feed, CR)
_DROPPED = str.maketrans("", "", "\x07\x08\x0b\x0c\r")


def escape(text: str) -> str:
    """``text`` made literal in markup, exactly as ``rich.markup.escape`` does."""
    escaped = re.sub(_TAG, lambda m: f"{m[1]}{m[1]}\\{m[2]}", text)
    if escaped.endswith("\\") and not escaped.endswith("\\\\"):
        escaped += "\\"  # a lone trailing backslash would escape what follows it
    return escaped


def strip_markup(markup: str) -> str:
    """The text rich would print for ``markup``, without styles."""
    out: list[str] = []
    position = 0
    for match in re.finditer(_TAG, markup):
        # like rich, a ``\\[`` that opens no tag is a literal ``[``
        out.append(markup[position : match.start()].replace("\\[", "["))
        backslashes, escaped = divmod(len(match[1]), 2)
        out.append("\\" * backslashes)
        if escaped:
            out.append(match[2])
        position = match.end()
    out.append(markup[position:].replace("\\[", "["))
    return "".join(out).translate(_DROPPED)


class PlainConsole:
    """The part of ``rich.console.Console`` the commands use, writing plain lines."""

    is_terminal = False

    def __init__(self, *, stderr: bool = False, quiet: bool = False) -> None:
        self.stderr = stderr
        self.quiet = quiet

    @property
    def file(self) -> IO[str]:
        # looked up at each print, like rich: tests and callers may swap sys.stdout
        return sys.stderr if self.stderr else sys.stdout

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", **_style: Any) -> None:
        if self.quiet:
            return
        text = sep.join(strip_markup(o) if isinstance(o, str) else str(o) for o in objects)
        self.file.write(text + end)


def make_console(*, stderr: bool = False, quiet: bool = False, **rich_options: Any) -> Any:
    """A rich ``Console`` when the stream is a terminal (or ``FORCE_COLOR`` is set, non-empty:
    force-color.org), else a ``PlainConsole``: rich is imported only where it shows.
    ``NO_COLOR`` (set, non-empty: no-color.org) wins over ``FORCE_COLOR`` and leaves no ANSI
    styling at all, bold included; a terminal still gets its progress bars (cursor movement)."""
    stream = sys.stderr if stderr else sys.stdout
    forced = os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1"
    isatty = getattr(stream, "isatty", None)
    if forced or (isatty is not None and isatty()):
        from rich.console import Console

        if os.environ.get("NO_COLOR"):
            rich_options.setdefault("color_system", None)  # rich alone would keep bold
        return Console(stderr=stderr, quiet=quiet, **rich_options)
    return PlainConsole(stderr=stderr, quiet=quiet)
