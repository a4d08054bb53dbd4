"""``varwheel uninstall NAME...``: remove distributions atomically (all or none)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from varwheel.cli import exitcodes
from varwheel.cli.selection_options import (
    add_break_system_packages_argument,
    add_requirement_file_argument,
    flags_from_args,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "uninstall",
        help="remove installed distributions",
        description="Remove distributions from the target environment (--python, else "
        "$VIRTUAL_ENV, else ./.venv) using their RECORD files; all or nothing.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="distribution names (a version part is ignored)"
    )
    add_requirement_file_argument(
        parser, help="uninstall the projects a requirements file names (repeatable)"
    )
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print what was removed (and what was not installed) as JSON; implies --yes",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    parser.add_argument(
        "--python",
        metavar="PATH|VERSION",
        help="target interpreter, virtual environment directory, or version (3.12) on PATH",
    )
    add_break_system_packages_argument(parser)
    parser.set_defaults(func=run)


def _confirm(prompt: str) -> bool:
    print(prompt, end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("", "y", "yes")


def names_from_args(args: argparse.Namespace) -> list[str]:
    """Project names: as pip, ``NAME==1.0`` or ``NAME[extra]`` name the project ``NAME``."""
    from varwheel import api

    return api.requirement_names(args.names, files=args.requirement_files)


def run(args: argparse.Namespace) -> int:
    from varwheel import api
    from varwheel.cli.render import ConsoleReporter

    names = names_from_args(args)
    settings = api.Settings.from_flags(flags_from_args(args))  # no config: as before
    reporter = ConsoleReporter(quiet=args.quiet)
    env = api.find_environment(settings, access=api.Access.CHANGE, reporter=reporter)
    if not (args.yes or args.json):
        found = api.removal_preview(names, env)
        for dist, count in found:
            label = f" [{dist.variant_label}]" if dist.variant_label else ""
            print(
                f"Would remove {dist.display_name} {dist.version}{label} ({count} files)",
                file=sys.stderr,
            )
        if found and not _confirm("Proceed (Y/n)? "):
            print("varwheel: nothing was removed", file=sys.stderr)
            return exitcodes.FAILURE
    result = api.uninstall(names, env, reporter=reporter)
    if args.json:
        doc = {
            "environment": str(env.prefix),
            "removed": [{"name": n, "version": v} for n, v in result.removed],
            "not_installed": list(result.missing),
        }
        print(json.dumps(doc, indent=2))
        return exitcodes.OK
    for name, version in result.removed:
        if not args.quiet:
            print(f"Uninstalled {name} {version}")
    return exitcodes.OK
