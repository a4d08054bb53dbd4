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
    "show": "varwheel.cli.cmd_show",
    "freeze": "varwheel.cli.cmd_freeze",
    "download": "varwheel.cli.cmd_download",
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

# command name -> its one-line help, for ``varwheel --help`` (and a bad or missing command), which
# then imports no command module and none of the layers behind them. A command missing here is
# registered from its module instead; tests/cli/test_main.py checks the text equals register()'s.
SUMMARIES = {
    "inspect": "validate and show the variant metadata of a wheel, variant.json, "
    "*-variants.json or pyproject.toml",
    "label": "print the default variant label of a set of properties",
    "detect": "show what this machine supports, per variant provider",
    "cache": "show or clear varwheel's cache",
    "install": "install packages, choosing the best wheel variant for this machine",
    "explain": "show how the wheel of a package is chosen for this target",
    "list": "list installed distributions and their variant labels",
    "uninstall": "remove installed distributions",
    "show": "show installed distributions: version, location, dependencies, variant",
    "freeze": "print installed distributions in requirements format (variant labels as comments)",
    "download": "download the wheels a target would get into a directory, hash-checked",
    "build": "build a plain or variant wheel with the project's PEP 517 backend",
    "make-variant": "turn a plain wheel into a variant wheel (adds variant.json and the label)",
    "unmake-variant": "turn a variant wheel back into a plain wheel",
    "repair": "run a wheel repair tool on a variant wheel, keeping its label and variant.json",
    "matrix": "print the declared build matrix ([tool.varwheel.build]) for CI, or its coverage",
    "check": "check the environment's requirements, or lint a release or project (PATH)",
    "index": "build a static simple index, or merge CI artifact directories",
    "publish": "check a release and upload it to an index server",
    "lock": "write a pylock.toml (PEP 751) that keeps the variant choice for install time",
    "sync": "install exactly what a pylock.toml selects for this machine, removing the rest",
}

INTERRUPTED = 130  # = exitcodes.INTERRUPTED; here so that reporting it needs no import


def printable(text: str) -> str:
    """One terminal-safe line: control characters from file names or the network are escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _requested_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _asks_version(argv: Sequence[str]) -> bool:
    """``--version`` comes before any ``-h``: argparse would act on the first of them too."""
    for arg in argv:
        if arg in ("-h", "--help"):
            return False
        if arg == "--version":
            return True
    return False


def _commands_of(module: str) -> list[str]:
    return [name for name, registered_by in COMMANDS.items() if registered_by == module]


def build_parser(command: str | None = None, *, summaries: bool = False):  # type: ignore[no-untyped-def]  # argparse lazily
    """The parser with every command, or with ``command`` alone when it is given.

    With ``summaries``, a command listed in ``SUMMARIES`` is added by name and help line only
    (enough to list it, not to run it): for the top-level help, which imports no command.
    """
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
    if command in COMMANDS:
        modules: Sequence[str] = [COMMANDS[command]]
    else:
        modules = list(COMMAND_MODULES)
        if summaries:  # a module is skipped only when every command it registers is summarised
            skipped = {m for m in modules if all(c in SUMMARIES for c in _commands_of(m))}
            for listed, module in COMMANDS.items():
                if module in skipped:
                    sub.add_parser(listed, help=SUMMARIES[listed])
            modules = [m for m in modules if m not in skipped]
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # command not built yet in this checkout
            if exc.name != name:
                raise
            continue
        module.register(sub)
    for child in sub.choices.values():
        _accept_common_flags(child)
    return parser


def _accept_common_flags(parser) -> None:  # type: ignore[no-untyped-def]  # argparse lazily
    """``-v``/``-q`` after the command name too (``varwheel install -v X``, as pip and uv), on
    every command and subcommand that does not define them itself. Defaults are suppressed, so
    ``varwheel -v COMMAND`` keeps its -v and a command without output to quieten ignores -q."""
    import argparse

    taken = parser._option_string_actions
    if "-v" not in taken and "--verbose" not in taken:
        parser.add_argument(
            "-v",
            "--verbose",
            dest="verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks and debug output",
        )
    if "-q" not in taken and "--quiet" not in taken:
        parser.add_argument(
            "-q",
            "--quiet",
            dest="quiet",
            action="store_true",
            default=argparse.SUPPRESS,
            help="print less (errors and the data asked for)",
        )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _accept_common_flags(child)


def _error(message: str) -> None:
    print(f"varwheel: error: {printable(message)}", file=sys.stderr)


def _interrupted() -> int:
    # a second Ctrl-C while we report the first must not print a traceback either
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        _error("interrupted")
    signal.signal(signal.SIGINT, previous)
    return INTERRUPTED


def _startup_cache(argv: list[str]) -> None:
    """Compiled dataclass methods from the cache (``varwheel.codecache``): about a fifth of an
    install's start-up. Not with ``--no-cache``, where nothing may be written to the cache."""
    import os

    if "--no-cache" in argv or os.environ.get("VARWHEEL_NO_CACHE", "").lower() in _TRUE:
        return
    from varwheel.cachedir import cache_root
    from varwheel.codecache import install

    install(cache_root())


_TRUE = frozenset({"1", "true", "yes", "on"})


def _run(argv: list[str], state: dict[str, bool]) -> int:
    import os

    from varwheel.cli import exitcodes

    command = _requested_command(argv)
    if command is None and _asks_version(argv):  # before argparse: start-up near bare Python
        from varwheel import __version__

        print(f"varwheel {__version__}")
        return exitcodes.OK
    parser = build_parser(command, summaries=command is None)
    args = parser.parse_args(argv)
    state["verbose"] = bool(getattr(args, "verbose", False))
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return exitcodes.INVALID_INPUT
    _startup_cache(argv)  # after parsing: --help and usage errors load no dataclasses at all
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
