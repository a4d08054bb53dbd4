"""``varwheel make-variant`` / ``unmake-variant``: tag a built wheel as a variant, or untag it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from varwheel.api import build as build_api
from varwheel.cli import exitcodes
from varwheel.cli.cmd_build import add_trust_argument, add_variant_arguments
from varwheel.cli.producer import LineReporter


def register(subparsers: Any) -> None:
    # One module, two commands: register each once even when main imports this module twice.
    if "make-variant" not in subparsers.choices:
        _register_make(subparsers)
    if "unmake-variant" not in subparsers.choices:
        _register_unmake(subparsers)


def _register_make(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "make-variant",
        help="turn a plain wheel into a variant wheel (adds variant.json and the label)",
        description="Write WHEEL as a variant wheel into DIR: *.dist-info/variant.json from the "
        "project's [variant] table, RECORD rewritten, the label appended to the name. The "
        "properties are checked against [variant] and the providers. Reproducible: two runs give "
        "byte-identical wheels (SOURCE_DATE_EPOCH sets every timestamp).",
    )
    parser.add_argument("wheel", type=Path, metavar="WHEEL")
    add_variant_arguments(parser)
    parser.add_argument("-o", "--outdir", type=Path, required=True, metavar="DIR")
    parser.add_argument(
        "--pyproject",
        type=Path,
        default=Path("pyproject.toml"),
        help="the project's pyproject.toml with the [variant] table (default ./pyproject.toml)",
    )
    parser.add_argument(
        "--skip-provider-validation",
        action="store_true",
        help="do not check the properties against the providers (namespaces still must be declared)",
    )
    add_trust_argument(parser)
    parser.set_defaults(func=run_make)


def _register_unmake(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "unmake-variant",
        help="turn a variant wheel back into a plain wheel",
        description="Write WHEEL without its variant label and variant.json into DIR (RECORD "
        "rewritten; reproducible).",
    )
    parser.add_argument("wheel", type=Path, metavar="WHEEL")
    parser.add_argument("-o", "--outdir", type=Path, required=True, metavar="DIR")
    parser.set_defaults(func=run_unmake)


def run_make(args: argparse.Namespace) -> int:
    made = build_api.make_variant(
        args.wheel,
        args.outdir,
        pyproject=args.pyproject,
        properties=args.properties,
        label=args.label,
        null_variant=args.null_variant,
        trusted=args.trusted,
        validate=not args.skip_provider_validation,
        reporter=LineReporter(),
    )
    print(made.path)
    return exitcodes.OK


def run_unmake(args: argparse.Namespace) -> int:
    print(build_api.unmake_variant(args.wheel, args.outdir).path)
    return exitcodes.OK


__all__ = ["register", "run_make", "run_unmake"]
