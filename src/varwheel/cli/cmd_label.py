"""``varwheel label -p PROP ...``: the default variant label of a property set."""

from __future__ import annotations

import argparse
import json
from typing import Any

from varwheel import api


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "label",
        help="print the default variant label of a set of properties",
        description="Print the default label (first 8 hex digits of sha256 over the sorted "
        "'ns :: feature :: value' lines, as variantlib computes it); 'null' for no properties.",
    )
    parser.add_argument(
        "-p",
        "--property",
        dest="properties",
        action="append",
        default=[],
        metavar="PROP",
        help="a variant property 'namespace :: feature :: value' (repeatable)",
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"label": ..., "properties": [...]} as JSON'
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    label = api.default_label(args.properties)
    if args.json:
        print(json.dumps({"label": label, "properties": sorted(args.properties)}, indent=2))
        return 0
    print(label)
    return 0
