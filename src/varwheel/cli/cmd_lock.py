"""``varwheel lock REQ... | -r FILE [-o pylock.toml] [--profile P ...]``: a PEP 751 lock that
keeps the variant choice for install time, for several target machines at once (docs/lock.md).

``--check`` exits 0 when re-locking would write the same bytes, 1 when the lock is stale (CI);
``--upgrade-package NAME`` frees one package from the versions already locked.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from varwheel.cli.selection_options import (
    add_index_arguments,
    add_requirement_file_argument,
    add_target_arguments,
)

STALE = 1


def register(subparsers: Any) -> None:
    from varwheel.cli.provider_options import add_provider_arguments

    parser = subparsers.add_parser(
        "lock",
        help="write a pylock.toml (PEP 751) that keeps the variant choice for install time",
        description=(
            "Resolve for every target (--profile, repeatable; default: this machine) and every "
            "variant it may pick, and write one pylock.toml listing those wheels with their "
            "hashes and the inline variant metadata (PEP 825)."
        ),
        conflict_handler="resolve",  # our --profile is repeatable: one target each
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ")
    add_requirement_file_argument(parser, help="read requirements from a file (repeatable)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("pylock.toml"),
        help="the lock file (default: pylock.toml)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 0 if the lock is up to date, 1 if locking again would change it",
    )
    parser.add_argument(
        "--upgrade-package",
        "-P",
        action="append",
        default=[],
        metavar="NAME",
        help="allow a newer version of NAME than the one locked (repeatable)",
    )
    parser.add_argument(
        "-U", "--upgrade", action="store_true", help="ignore the versions already locked"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    add_index_arguments(parser)
    add_target_arguments(parser)
    add_provider_arguments(parser)
    parser.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="X.Y",
        help="a target Python version (repeatable: one target each)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a target machine (varwheel detect --output); repeatable: one lock for all of them",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from varwheel.api.lock import lock, lock_inputs
    from varwheel.cli.render import ConsoleReporter
    from varwheel.cli.selection_options import flags_from_args
    from varwheel.settings import Settings

    # --python-version is repeatable here (one target each): not a cross-target option
    flags = replace(flags_from_args(args), profile=None)
    flags = replace(flags, cross=replace(flags.cross, python_version=None))
    inputs = lock_inputs(
        args.output,
        args.requirements,
        files=args.requirement_files,
        flags=flags,
        profiles=args.profile,
        python_versions=args.python_version,
    )
    settings = Settings.load(inputs.flags, requirements=inputs.requirements.options)
    result = lock(
        inputs,
        settings,
        check=args.check,
        upgrade=args.upgrade,
        upgrade_packages=args.upgrade_package,
        reporter=ConsoleReporter(quiet=args.quiet),
    )
    output = result.output
    if args.check:
        if result.up_to_date:
            if not args.quiet:
                print(f"{output} is up to date")
            return 0
        why = "is stale: locking again would change it" if result.existed else "does not exist"
        print(f"{output} {why}", file=sys.stderr)
        return STALE
    if not args.quiet:
        print(
            f"Locked {len(result.lock.packages)} package(s) ({result.variant_packages} with "
            f"variants) for {len(result.targets)} target(s) into {output}"
        )
    return 0
