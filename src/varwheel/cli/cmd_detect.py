"""``varwheel detect``: what this machine supports, per native provider; optionally written as a
profile (``--output``) for installing on another machine with ``--profile``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from varwheel.cli.provider_options import add_provider_arguments


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="show what this machine supports, per variant provider",
        description="Run the native providers (or read --profile) and show the supported "
        "variant properties of this machine.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the result as a profile TOML"
    )
    parser.add_argument(
        "--namespace",
        action="append",
        default=None,
        metavar="NS",
        help="only these namespaces (repeatable)",
    )
    add_provider_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from varwheel.api.detection import Support, detect_machine
    from varwheel.cli.render import ConsoleReporter
    from varwheel.cli.selection_options import flags_from_args
    from varwheel.settings import Settings

    settings = Settings.load(flags_from_args(args))
    detection = detect_machine(
        settings, args.namespace, output=args.output, reporter=ConsoleReporter()
    )
    if args.json:
        sys.stdout.write(json.dumps(detection.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        console = Console(highlight=False)
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("namespace")
        table.add_column("source")
        table.add_column("supported (most preferred first)", overflow="fold")
        styles = {Support.UNAVAILABLE: "red", Support.NOTHING: "yellow", Support.SUPPORTED: ""}
        for row in detection.summary():
            style = styles[row.support]
            text = escape(row.text)
            table.add_row(
                escape(row.namespace),
                escape(row.source) + (" (cached)" if row.cached else ""),
                f"[{style}]{text}[/]" if style else text,
            )
        console.print(table)
        if detection.profile is not None:
            console.print(f"profile written to {escape(str(detection.profile))}", soft_wrap=True)
    return 0
