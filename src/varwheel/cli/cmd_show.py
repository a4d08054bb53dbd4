"""``varwheel show NAME...``: one installed distribution per block, as pip's show, with its
variant label and properties."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from varwheel.cli import exitcodes

if TYPE_CHECKING:
    from varwheel.api.environment import DistributionDetails


def add_environment_arguments(parser: argparse.ArgumentParser) -> None:
    """``--python`` and ``--json``: what the read-only environment commands share."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--python",
        metavar="PATH|VERSION",
        help="target interpreter, virtual environment directory, or version (3.12) on PATH",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the data")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show installed distributions: version, location, dependencies, variant",
        description="Show installed distributions of the target environment (--python, else "
        "$VIRTUAL_ENV, else ./.venv): version, location, requires, required-by, installer, "
        "and the variant label and properties of a variant wheel. Exit 1 when one is missing.",
    )
    parser.add_argument("names", nargs="+", metavar="NAME")
    add_environment_arguments(parser)
    parser.set_defaults(func=run)


def find_read_environment(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The environment ``--python`` (or $VIRTUAL_ENV, ./.venv) names, for reading."""
    from varwheel import api
    from varwheel.cli.render import ConsoleReporter

    settings = api.Settings(python=args.python)
    reporter = ConsoleReporter(quiet=args.quiet or args.json)
    return api.find_environment(settings, access=api.Access.READ, reporter=reporter)


def format_details(details: DistributionDetails) -> str:
    lines = [
        f"Name: {details.name}",
        f"Version: {details.version}",
        f"Location: {details.location}",
        f"Requires: {', '.join(details.requires)}",
        f"Required-by: {', '.join(details.required_by)}",
        f"Installer: {details.installer}",
        f"Variant: {details.variant_label or '-'}",
    ]
    if details.variant_forced is not None:
        why = f": {details.variant_forced}" if details.variant_forced else ""
        lines.append(f"Variant-forced: yes (--force-variant; not supported by the target{why})")
    if details.variant_properties:
        lines.append("Variant-properties:")
        lines += [f"  {prop}" for prop in details.variant_properties]
    if details.direct_url is not None:
        lines.append(f"Installed-from: {details.direct_url['url']}")
    from varwheel.cli.main import printable

    return "\n".join(printable(line) for line in lines)


def run(args: argparse.Namespace) -> int:
    from varwheel.api import environment as api_env
    from varwheel.cli.main import printable

    env = find_read_environment(args)
    result = api_env.show(args.names, env)
    if args.json:
        print(json.dumps([d.to_json() for d in result.found], indent=2))
    elif result.found:
        print("\n---\n".join(format_details(d) for d in result.found))
    if result.missing:  # as pip: a warning, the others shown, exit 1
        names = ", ".join(result.missing)
        print(
            printable(f"varwheel: warning: package(s) not found in {env.prefix}: {names}"),
            file=sys.stderr,
        )
        return exitcodes.FAILURE
    return exitcodes.OK
