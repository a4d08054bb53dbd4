"""``varwheel check [PATH ...]``: lint a release (wheels + ``*-variants.json``) or a project's
declared variant set (docs/build-matrix.md#check). Exit 1 on errors (on warnings too with
``--strict``), 2 on unreadable input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from varwheel.api import build as build_api
from varwheel.cli import exitcodes


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check the environment's requirements, or lint a release or project (PATH)",
        description="Check built wheels and *-variants.json files (a directory such as dist/, "
        "or files) or a project's pyproject.toml ([variant] and [tool.varwheel.build]) for "
        "problems installers would trip over. Exit 1 when an error is found.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="a directory of wheels, wheel / *-variants.json files, or a pyproject.toml or "
        "project directory (none: check the installed environment's requirements, as pip's "
        "check; '.' for the current project)",
    )
    parser.add_argument("--python", metavar="PATH|VERSION", help="environment to check (no PATH)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.paths:  # no PATH: pip's check of the environment (cli/cmd_check_env.py)
        from varwheel.cli.cmd_check_env import run as check_environment

        return check_environment(args)
    from varwheel.cli.main import printable

    result = build_api.check([Path(p) for p in args.paths], strict=args.strict)
    findings, errors, warnings = result.findings, result.errors, result.warnings
    if args.json:
        doc = {
            "findings": [
                {
                    "severity": f.severity.value,
                    "code": f.code,
                    "message": f.message,
                    "subjects": list(f.subjects),
                }
                for f in findings
            ],
            "errors": errors,
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        for f in findings:
            unnamed = [s for s in f.subjects if s not in f.message]
            where = f" [{', '.join(unnamed)}]" if unnamed else ""
            print(printable(f"{f.severity.value}[{f.code}]: {f.message}{where}"))
        print(f"{errors} error(s), {warnings} warning(s)")
    return exitcodes.OK if result.passed else exitcodes.FAILURE


__all__ = ["register", "run"]
