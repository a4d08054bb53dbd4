"""``varwheel`` entry point: builds the argument parser from the command modules and maps errors.

Ctrl-C must end any run with exit 130 and one line, including during start-up: this module
imports only ``sys`` and ``signal`` at the top; everything else (argparse, the command modules,
the layers they use) is imported inside ``main()``, under its handlers.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Sequence

# command name -> module. Each module exposes ``register(subparsers) -> None``; the parser it adds
# sets ``func(args) -> int``. Only the module of the command being run is imported (start-up time).
COMMANDS = {
    "inspect": "varwheel.cli.cmd_inspect",
    "label": "varwheel.cli.cmd_label",
    "detect": "varwheel.cli.cmd_detect",
    "cache": "varwheel.cli.cmd_cache",
    "install": "varwheel.cli.cmd_install",
    "explain": "varwheel.cli.cmd_explain",
    "list": "varwheel.cli.cmd_list",
    "uninstall": "varwheel.cli.cmd_uninstall",
    "build": "varwheel.cli.cmd_build",
    "make-variant": "varwheel.cli.cmd_make_variant",
    "unmake-variant": "varwheel.cli.cmd_make_variant",
    "repair": "varwheel.cli.cmd_repair",
    "matrix": "varwheel.cli.cmd_matrix",
    "check": "varwheel.cli.cmd_check",
    "index": "varwheel.cli.cmd_index",
    "publish": "varwheel.cli.cmd_publish",
    "lock": "varwheel.cli.cmd_lock",
    "sync": "varwheel.cli.cmd_sync",
}
# one module may register several commands (make-variant, unmake-variant): import it once
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))

INTERRUPTED = 130  # = exitcodes.INTERRUPTED; here so that reporting it needs no import


def printable(text: str) -> str:
    """One terminal-safe line: control characters from file names or the network are escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _requested_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None):  # type: ignore[no-untyped-def]  # argparse lazily
    """The parser with every command, or with ``command`` alone when it is given."""
    import argparse
    import importlib

    from varwheel import __version__

    parser = argparse.ArgumentParser(
        prog="varwheel",
        description="Build, publish and install wheel variants (PEP 817 / PEP 825).",
    )
    parser.add_argument("--version", action="version", version=f"varwheel {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks and debug output"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # command not built yet in this checkout
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _error(message: str) -> None:
    print(f"varwheel: error: {printable(message)}", file=sys.stderr)


def _interrupted() -> int:
    # a second Ctrl-C while we report the first must not print a traceback either
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        _error("interrupted")
    signal.signal(signal.SIGINT, previous)
    return INTERRUPTED


def _run(argv: list[str], state: dict[str, bool]) -> int:
    import os

    from varwheel.cli import exitcodes

    parser = build_parser(_requested_command(argv))
    args = parser.parse_args(argv)
    state["verbose"] = bool(getattr(args, "verbose", False))
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return exitcodes.INVALID_INPUT
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # `varwheel list | head`: the reader went away; say nothing, like other CLI tools.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stdout must stay open until exit
        return exitcodes.OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # until the arguments are parsed, -v is taken from the raw words
    state = {"verbose": "-v" in argv or "--verbose" in argv}
    try:
        return _run(argv, state)
    except KeyboardInterrupt:
        if state["verbose"]:
            import traceback

            traceback.print_exc()
        return _interrupted()
    except Exception as err:
        from varwheel.cli import exitcodes
        from varwheel.errors import VarwheelError

        if isinstance(err, VarwheelError):
            mapped: tuple[int, str] | None = (exitcodes.for_error(err), str(err))
        else:  # the last resort for what a parser or reader let through (OSError, ...)
            mapped = exitcodes.last_resort(err)
        if mapped is None:
            raise
        if state["verbose"]:  # the traceback, then the same line and exit code as without -v
            import traceback

            traceback.print_exc()
        _error(mapped[1])
        return mapped[0]


def run() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # between main's handlers
        code = _interrupted()
    if code == INTERRUPTED:  # the user wants out: no second report while Python shuts down
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
