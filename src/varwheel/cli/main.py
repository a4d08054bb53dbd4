"""``varwheel`` entry point: builds the argument parser from the command modules and maps errors."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from varwheel import __version__
from varwheel.cli import exitcodes
from varwheel.errors import VarwheelError

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
}
COMMAND_MODULES = tuple(COMMANDS.values())


def printable(text: str) -> str:
    """One terminal-safe line: control characters from file names or the network are escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _requested_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with ``command`` alone when it is given."""
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_requested_command(argv))
    args = parser.parse_args(argv)
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
    except (VarwheelError, KeyboardInterrupt) as err:
        if args.verbose:
            raise
        message = "interrupted" if isinstance(err, KeyboardInterrupt) else str(err)
        print(f"varwheel: error: {printable(message)}", file=sys.stderr)
        return exitcodes.for_error(err)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
