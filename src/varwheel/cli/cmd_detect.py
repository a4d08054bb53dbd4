"""``varwheel detect``: what this machine supports, per native provider; optionally written as a
profile (``--output``) for installing on another machine with ``--profile``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from varwheel.cli.provider_options import add_provider_arguments, provider_options_from_args
from varwheel.config import load_config
from varwheel.errors import InvalidInput
from varwheel.fsutil import atomic_write
from varwheel.providers.detect import NamespaceResult, ProviderSession
from varwheel.providers.profile import dump_profile
from varwheel.providers.summary import describe
from varwheel.spec.properties import NAMESPACE_RE


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


def as_json(results: tuple[NamespaceResult, ...]) -> dict[str, Any]:
    return {
        "namespaces": {
            r.namespace: {
                "source": r.source,
                "supported": None
                if r.properties is None
                else {f: list(v) for f, v in r.properties.items()},
                "reason": r.reason or (describe(r) if not r.properties else None),
                "cached": r.cached,
                "seconds": round(r.seconds, 6),
            }
            for r in results
        }
    }


def run(args: argparse.Namespace) -> int:
    for ns in args.namespace or ():
        if not NAMESPACE_RE.fullmatch(ns):
            raise InvalidInput(f"--namespace: invalid namespace {ns!r}")
    options = provider_options_from_args(args, load_config())
    results = ProviderSession(options).detect_native(args.namespace)
    if args.output is not None:
        known = {r.namespace: dict(r.properties) for r in results if r.properties is not None}
        try:
            from varwheel.install.environment import current_environment
            from varwheel.lock.targets import machine_of

            # the whole machine: Python version, tags and markers too (varwheel lock --profile)
            machine = machine_of(current_environment())
            atomic_write(args.output, dump_profile(known, machine=machine).encode())
        except OSError as exc:
            raise InvalidInput(
                f"--output {args.output}: cannot write the profile: {exc.strerror or exc}"
            ) from None
    if args.json:
        sys.stdout.write(json.dumps(as_json(results), indent=2, sort_keys=True) + "\n")
    else:
        console = Console(highlight=False)
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("namespace")
        table.add_column("source")
        table.add_column("supported (most preferred first)", overflow="fold")
        for r in results:
            style = "red" if r.properties is None else ("yellow" if not r.properties else "")
            text = escape(describe(r))
            table.add_row(
                escape(r.namespace),
                escape(r.source) + (" (cached)" if r.cached else ""),
                f"[{style}]{text}[/]" if style else text,
            )
        console.print(table)
        if args.output is not None:
            console.print(f"profile written to {escape(str(args.output))}", soft_wrap=True)
    return 0
