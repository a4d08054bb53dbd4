"""``varwheel freeze``: the installed distributions in requirements format, as pip's freeze;
a variant wheel's label follows as a comment (docs/pip-uv-comparison.md#freeze)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from varwheel.cli import exitcodes
from varwheel.cli.cmd_show import add_environment_arguments, find_read_environment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "freeze",
        help="print installed distributions in requirements format (variant labels as comments)",
        description="Print the distributions of the target environment (--python, else "
        "$VIRTUAL_ENV, else ./.venv) as pip's freeze does: NAME==VERSION, NAME @ URL for one "
        "installed from a path or URL, and '  # variant: LABEL' after a variant wheel.",
    )
    parser.add_argument(
        "--all",
        dest="all_",
        action="store_true",
        help="include pip, setuptools, wheel and distribute (left out by default, as pip)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="NAME",
        help="leave this distribution out (repeatable)",
    )
    add_environment_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from varwheel.api import environment as api_env
    from varwheel.cli.main import printable

    env = find_read_environment(args)
    lines = api_env.freeze(env, all_=args.all_, exclude=args.exclude)
    if args.json:
        print(json.dumps([line.to_json() for line in lines], indent=2))
    else:
        for line in lines:
            print(printable(line.text()))
    return exitcodes.OK
