"""``varwheel explain REQ...``: every wheel of the version that would be chosen, and why."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.cli.selection_options import (
    add_selection_arguments,
    as_described,
    cross_target_requested,
    flags_from_args,
)

if TYPE_CHECKING:
    from varwheel.api import Environment as TargetEnvironment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show how the wheel of a package is chosen for this target",
        description=(
            "For each requirement: the version that would be chosen, each of its wheels with the "
            "reason it is compatible or not, the ranking with the key that decided, the route the "
            "variant metadata came from, and the chosen wheel."
        ),
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ")
    parser.add_argument(
        "-r",
        "--requirement",
        dest="requirement_files",
        action="append",
        default=[],
        metavar="PYLOCK",
        help="explain what a pylock.toml would install here, and why",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--deps",
        action="store_true",
        help="also read the chosen wheel's metadata and list the dependencies that apply",
    )
    parser.add_argument(
        "--all-wheels",
        action="store_true",
        help="also list wheels rejected for their tags, and every supported feature",
    )
    add_selection_arguments(parser)
    parser.set_defaults(func=run)


def _say_target(target: TargetEnvironment, args: argparse.Namespace) -> None:
    """One stderr line naming whose markers and tags are used. Without --python or
    $VIRTUAL_ENV that is the running interpreter: a ``./.venv`` is not run by this read-only
    command (a cloned project may commit one), and the line says how to use it."""
    from varwheel.cli.render import describe_environment

    line = f"Explaining for {describe_environment(target)}"
    if cross_target_requested(args):
        flags = [f"--python-version {args.python_version}"] if args.python_version else []
        flags += [f"--platform {p}" for p in args.platform]
        flags += [f"--implementation {args.implementation}"] if args.implementation else []
        flags += [f"--abi {a}" for a in args.abi]
        where = f"{target.prefix} ({target.source or 'target'})"
        line = f"Explaining for {' '.join(flags)}, the other facts from {where}"
    if target.source == "running interpreter" and Path(".venv").is_dir():
        line += "; ./.venv is not run by explain: pass --python .venv to explain for it"
    print(line, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from varwheel import api
    from varwheel.cli.cmd_sync import explain_lock, lock_path_of
    from varwheel.cli.render import ConsoleReporter, environment_json
    from varwheel.errors import InvalidInput

    lock_path = lock_path_of(args)
    if lock_path is not None:
        return explain_lock(args, lock_path)
    if args.requirement_files or not args.requirements:
        raise InvalidInput("explain: name requirements, or -r pylock.toml")
    reqs = api.read_requirements(args.requirements)
    settings = api.Settings.load(flags_from_args(args))
    reporter = ConsoleReporter()
    env = api.find_environment(settings, access=api.Access.INSPECT, reporter=reporter)
    target = api.target_for(settings, env)
    _say_target(as_described(env, args), args)
    result = api.explain(
        reqs, settings, target, environment=env, dependencies=args.deps, reporter=reporter
    )
    if args.json:
        doc = {**result.to_json(), "target_environment": environment_json(as_described(env, args))}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        from varwheel.cli.plain import make_console
        from varwheel.cli.render import render_explanation

        console = make_console(highlight=False, soft_wrap=True)  # rich on a terminal only
        for res in result.packages:
            render_explanation(
                console, res, all_wheels=args.all_wheels, verbose=bool(getattr(args, "verbose", 0))
            )
    return 0 if result.all_chosen else 1
