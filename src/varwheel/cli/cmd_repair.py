"""``varwheel repair WHEEL -- TOOL ...``: auditwheel / delocate-wheel / delvewheel on a variant."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from varwheel.api import build as build_api
from varwheel.cli import exitcodes
from varwheel.errors import InvalidInput


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "repair",
        help="run a wheel repair tool on a variant wheel, keeping its label and variant.json",
        description="Strip the variant label (the tools read five-part names only), run the "
        "tool, put the label back on every wheel it wrote and check variant.json survived "
        "(restored when the tool dropped it). {wheel} and {dest_dir} in the command are "
        "replaced as in cibuildwheel; without them the wheel is appended and -w DIR added for "
        "auditwheel, delocate-wheel and delvewheel. auditwheel gets --disable-isa-ext-check "
        "for x86-64 level variants. Exit 1 when the tool fails, 2 for a wheel that is not a "
        "variant or lost it.",
        usage="varwheel repair [-o DIR] WHEEL -- TOOL [ARGS...]",
    )
    parser.add_argument("wheel", type=Path, metavar="WHEEL")
    parser.add_argument(
        "-o", "--outdir", type=Path, default=Path("wheelhouse"), help="default ./wheelhouse"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="TOOL")
    parser.set_defaults(func=run)


def _split(rest: list[str], outdir: Path) -> tuple[list[str], Path]:
    """argparse hands everything after WHEEL to the command (REMAINDER), so ``-o DIR`` between
    WHEEL and ``--`` is read here; after ``--`` everything belongs to the tool."""
    if "--" not in rest:
        return rest, outdir
    at = rest.index("--")
    head, command = rest[:at], rest[at + 1 :]
    options = argparse.ArgumentParser(prog="varwheel repair", add_help=False)
    options.add_argument("-o", "--outdir", type=Path, default=outdir)
    try:
        parsed, unknown = options.parse_known_args(head)
    except SystemExit:
        unknown = head
        parsed = argparse.Namespace(outdir=outdir)
    if unknown:
        raise InvalidInput(f"repair: unexpected {' '.join(unknown)!r} before --")
    return command, parsed.outdir


def run(args: argparse.Namespace) -> int:
    command, outdir = _split(list(args.command), args.outdir)
    try:
        results = build_api.repair(args.wheel, command, outdir)
    except Exception as err:
        log = getattr(err, "log", ())
        if log and getattr(args, "verbose", False):
            print("\n".join(log), file=sys.stderr)
        raise
    for result in results:
        if result.restored:
            print(f"{result.path.name}: the tool dropped variant.json; restored", file=sys.stderr)
        print(result.path)
    return exitcodes.OK


__all__ = ["register", "run"]
