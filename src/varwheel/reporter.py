"""One channel for everything a run tells its user besides its result: warnings, notes, the
environment acted on, download progress.

Library code never prints: it calls a :class:`Reporter`. The base class records events in
order (what a Python caller, or ``--json``/``--report``, reads back from ``events``); the
command line subclasses it to print (``cli/render.py`` ``ConsoleReporter``: ``varwheel:
warning: ...`` lines on stderr, a progress bar). Each distinct warning is reported once per
reporter, whichever layer found it (index, providers, resolution, verification).
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from varwheel.index.models import ProgressEvent
    from varwheel.install.environment import TargetEnvironment

__all__ = ["Event", "EventKind", "Progress", "Reporter"]

Progress = Callable[["ProgressEvent"], None]


class EventKind(str, enum.Enum):
    """What an :class:`Event` is: a warning, a note, or the environment a command acts on."""

    WARNING = "warning"
    NOTE = "note"
    ENVIRONMENT = "environment"


@dataclass(frozen=True)
class Event:
    """One thing reported: ``text`` is one line (a warning, a note, or the environment's prefix)."""

    kind: EventKind
    text: str


class Reporter:
    """Records warnings and notes in order (``events``, ``warnings``, ``notes``); thread-safe.
    Override :meth:`emit` to show them as they come, :meth:`downloads` for a progress display."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._seen: set[tuple[EventKind, str]] = set()
        self._lock = threading.Lock()

    # -- what layers call ------------------------------------------------------------------
    def warning(self, text: str) -> None:
        """A problem the run goes on despite (reported once per distinct text)."""
        self._add(Event(EventKind.WARNING, text))

    def note(self, text: str) -> None:
        """Information worth a line (a recovered transaction, a configuration remark)."""
        self._add(Event(EventKind.NOTE, text))

    def environment(self, env: TargetEnvironment) -> None:
        """The environment a command acts on, once it is found."""
        self._add(Event(EventKind.ENVIRONMENT, str(env.prefix)), env)

    @contextlib.contextmanager
    def downloads(self, count: int) -> Iterator[Progress | None]:
        """Around downloading ``count`` files: yields a progress callback (called from worker
        threads) or None for no progress display."""
        yield None

    # -- reading back ----------------------------------------------------------------------
    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(e.text for e in self.events if e.kind is EventKind.WARNING)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(e.text for e in self.events if e.kind is EventKind.NOTE)

    # -- for subclasses --------------------------------------------------------------------
    def emit(self, event: Event, env: TargetEnvironment | None = None) -> None:
        """Called once per new event, in order; the base class only records."""

    def _add(self, event: Event, env: TargetEnvironment | None = None) -> None:
        with self._lock:
            key = (event.kind, event.text)
            if event.kind is not EventKind.ENVIRONMENT and key in self._seen:
                return
            self._seen.add(key)
            self.events.append(event)
        self.emit(event, env)
