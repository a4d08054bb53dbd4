"""``varwheel list``: installed distributions of the target environment, with variant labels."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from varwheel.api import InstalledDistribution


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list installed distributions and their variant labels",
        description="List the distributions installed in the target environment "
        "(--python, else $VIRTUAL_ENV, else ./.venv), with the variant label of each.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.add_argument(
        "--python",
        metavar="PATH|VERSION",
        help="target interpreter, virtual environment directory, or version (3.12) on PATH",
    )
    parser.set_defaults(func=run)


def _as_json(dist: InstalledDistribution) -> dict[str, object]:
    return {
        "name": dist.display_name,
        "canonical_name": dist.name,
        "version": dist.version,
        "variant_label": dist.variant_label,
        "variant_properties": list(dist.variant_properties),
        "variant_forced": dist.forced_variant is not None,
        "installer": dist.installer or None,
        "requested": dist.requested,
        "dist_info": str(dist.dist_info),
    }


def format_table(dists: list[InstalledDistribution]) -> str:
    """Aligned text table: name, version, variant label ("-" for non-variant; "(forced)" when
    installed through --force-variant although the target does not support it), installer."""
    rows = [("Name", "Version", "Variant", "Installer")]
    rows += [(d.display_name, d.version, _variant_cell(d), d.installer or "-") for d in dists]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3]]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in [*widths, len(row[3])]))
    return "\n".join(lines)


def _variant_cell(dist: InstalledDistribution) -> str:
    label = dist.variant_label or "-"
    return f"{label} (forced)" if dist.forced_variant is not None else label


def run(args: argparse.Namespace) -> int:
    from varwheel import api
    from varwheel.cli.render import ConsoleReporter

    settings = api.Settings(python=args.python)
    reporter = ConsoleReporter(quiet=getattr(args, "quiet", False))
    env = api.find_environment(settings, access=api.Access.READ, reporter=reporter)
    dists = api.installed(env)
    if args.json:
        print(json.dumps([_as_json(d) for d in dists], indent=2))
    else:
        print(format_table(dists))
    return 0
