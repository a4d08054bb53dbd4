"""The reporter of the producer commands (build, make-variant, index, publish): warnings as
``varwheel: warning: ...`` and notes as ``varwheel: ...`` lines on stderr, as they come."""

from __future__ import annotations

import sys

from varwheel.reporter import Event, EventKind, Reporter

__all__ = ["LineReporter"]


class LineReporter(Reporter):
    """Prints each warning and note once, terminal-safe (control characters escaped)."""

    def emit(self, event: Event, env: object = None) -> None:
        from varwheel.cli.main import printable

        if event.kind is EventKind.WARNING:
            print(f"varwheel: warning: {printable(event.text)}", file=sys.stderr)
        elif event.kind is EventKind.NOTE:
            print(f"varwheel: {printable(event.text)}", file=sys.stderr)
