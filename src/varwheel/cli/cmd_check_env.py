"""``varwheel check`` without paths: pip's check of the target environment (requirements of
installed distributions that are missing or incompatible). Exit 1 when there are problems."""

from __future__ import annotations

import argparse
import json

from varwheel.cli import exitcodes


def run(args: argparse.Namespace) -> int:
    from varwheel.api import environment as api_env
    from varwheel.cli.cmd_show import find_read_environment
    from varwheel.cli.main import printable

    env = find_read_environment(args)
    problems = api_env.check_environment(env)
    if args.json:
        doc = {"environment": str(env.prefix), "problems": [p.to_json() for p in problems]}
        print(json.dumps(doc, indent=2))
    elif problems:
        for problem in problems:
            print(printable(problem.message()))
    elif not args.quiet:
        print("No broken requirements found.")
    return exitcodes.FAILURE if problems else exitcodes.OK
