"""``varwheel uninstall NAME...``: remove distributions atomically (all or none)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from packaging.utils import canonicalize_name

from varwheel.cli import exitcodes
from varwheel.cli.selection_options import (
    add_break_system_packages_argument,
    add_requirement_file_argument,
    writable_target,
)
from varwheel.errors import InvalidInput
from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import installed_distributions, read_record
from varwheel.install.transaction import uninstall


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
    from pathlib import Path

    from varwheel.resolve.requirement import parse_requirement
    from varwheel.resolve.requirements_file import read_requirements_file

    reqs = [parse_requirement(text) for text in args.names]
    for file in args.requirement_files:
        reqs += read_requirements_file(Path(file))
    if not reqs:
        raise InvalidInput("no distributions named (name some, or use -r FILE)")
    return [r.name for r in reqs]


def run(args: argparse.Namespace) -> int:
    args.names = names_from_args(args)
    env = writable_target(
        args.python, break_system_packages=args.break_system_packages, quiet=args.quiet
    )
    if not args.yes:
        current = installed_distributions(env)
        found = [
            current[n] for n in dict.fromkeys(map(canonicalize_name, args.names)) if n in current
        ]
        for dist in found:
            files = read_record(dist)
            label = f" [{dist.variant_label}]" if dist.variant_label else ""
            print(
                f"Would remove {dist.display_name} {dist.version}{label} ({len(files)} files)",
                file=sys.stderr,
            )
        if found and not _confirm("Proceed (Y/n)? "):
            print("varwheel: nothing was removed", file=sys.stderr)
            return exitcodes.FAILURE
    result = uninstall(env, args.names)
    for name in result.missing:
        print(f"varwheel: warning: {name} is not installed in {env.prefix}", file=sys.stderr)
    for name, version in result.removed:
        if not args.quiet:
            print(f"Uninstalled {name} {version}")
    if result.removed:
        for line in broken_dependents(env, {name for name, _ in result.removed}):
            print(f"varwheel: warning: {line}", file=sys.stderr)
    return exitcodes.OK


def broken_dependents(env: TargetEnvironment, removed: set[str]) -> list[str]:
    """What the distributions left behind still require of the removed ones. pip and uv remove
    a needed dependency without a word; we remove it too, but say what it breaks."""
    from varwheel.install.check import dependency_problems
    from varwheel.install.installed import installed_from_env

    return dependency_problems(installed_from_env(env), env.marker_env, touched=removed)
