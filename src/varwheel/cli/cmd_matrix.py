"""``varwheel matrix [PROJECT]``: the declared build matrix for humans and CI, and its coverage of
target machines (docs/build-matrix.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from varwheel.api import build as build_api
from varwheel.errors import InvalidInput

if TYPE_CHECKING:
    from varwheel.api.build import CoverageReport, MachineCoverage, MatrixPlan

FORMATS = ("table", "json", "github", "cibuildwheel")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "matrix",
        help="print the declared build matrix ([tool.varwheel.build]) for CI, or its coverage",
        description="Print the variants a project declares in [tool.varwheel.build] with the "
        "settings each build gets: as a table, JSON, a GitHub Actions strategy.matrix "
        '({"include": [...]}, for fromJSON) or cibuildwheel environment lines. With '
        "--coverage, show which declared variant each target machine gets.",
    )
    parser.add_argument(
        "project",
        nargs="?",
        default=".",
        metavar="PROJECT",
        help="project directory or its pyproject.toml (default: .)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default: table)"
    )
    parser.add_argument(
        "--entry",
        metavar="NAME",
        help="only this entry: a variant label, 'null' or 'non-variant'",
    )
    parser.add_argument(
        "-o",
        "--out-dir",
        default="dist",
        metavar="DIR",
        help="output directory written into the build commands (default: dist)",
    )
    parser.add_argument(
        "--coverage",
        nargs="*",
        default=None,
        metavar="MACHINE",
        help="which variant each machine gets: profile files (varwheel detect --output), "
        "shipped machine names or globs (nvidia-*), 'shipped' for all; none = all shipped",
    )
    parser.add_argument(
        "--enable-provider",
        action="append",
        default=[],
        metavar="NS",
        help="with --coverage: count this optional provider as enabled (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="with --coverage: JSON output")
    parser.add_argument(
        "--markdown", action="store_true", help="with --coverage: a Markdown table (for a README)"
    )
    parser.set_defaults(func=run)


# --------------------------------------------------------------------------- run


def _table(plan: MatrixPlan) -> None:
    console = Console(highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("entry")
    table.add_column("properties", overflow="fold")
    table.add_column("settings", overflow="fold")
    for entry in plan.entries:
        props = "\n".join(map(str, entry.properties)) or f"({entry.kind.value})"
        lines = "\n".join(plan.settings_lines(entry)) or "-"
        table.add_row(escape(entry.name), escape(props), escape(lines))
    console.print(table)


def run(args: argparse.Namespace) -> int:
    if args.coverage is None and (args.json or args.markdown or args.enable_provider):
        flag = "--json" if args.json else "--markdown" if args.markdown else "--enable-provider"
        raise InvalidInput(f"{flag} goes with --coverage (for the matrix itself: --format json)")
    if args.coverage is not None:
        report = build_api.matrix_coverage(
            args.project, args.coverage, enabled_optional=args.enable_provider
        )
        return print_coverage(report, as_json=args.json, as_markdown=args.markdown)
    plan = build_api.plan_matrix(args.project, entry=args.entry)
    if args.format == "github":
        sys.stdout.write(build_api.github_matrix(plan, args.out_dir) + "\n")
    elif args.format == "cibuildwheel":
        sys.stdout.write("\n".join(build_api.cibuildwheel_lines(plan)) + "\n")
    elif args.format == "json":
        sys.stdout.write(json.dumps(build_api.matrix_json(plan, args.out_dir), indent=2) + "\n")
    else:
        _table(plan)
    return 0


# --------------------------------------------------------------------------- coverage


def coverage_json(report: CoverageReport) -> dict[str, Any]:
    return {
        "machines": [
            {
                "name": row.machine.name,
                "description": row.machine.description,
                "source": row.machine.source,
                "outcome": row.outcome.value,
                "label": row.label,
                "compatible": list(row.compatible),
                "reason": row.reason or None,
            }
            for row in report.machines
        ],
        "unselected": list(report.unselected),
        "incompatible": list(report.incompatible),
    }


def _gets(row: MachineCoverage) -> str:
    Outcome = build_api.Outcome
    return {
        Outcome.VARIANT: f"{row.label}",
        Outcome.NULL: "null (fallback)",
        Outcome.PLAIN: "non-variant (fallback)",
        Outcome.NONE: "nothing installs",
    }[row.outcome]


def _detail(row: MachineCoverage) -> str:
    variant = row.outcome is build_api.Outcome.VARIANT
    return ", ".join(row.compatible[1:]) if variant else row.reason


def coverage_markdown(report: CoverageReport) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| machine | gets | also compatible / why not a variant |",
        "|---|---|---|",
    ]
    for row in report.machines:
        name = f"`{row.machine.name}`"
        lines.append(f"| {name} | {cell(_gets(row))} | {cell(_detail(row))} |")
    for label in report.unselected:
        why = "compatible with none" if label in report.incompatible else "always outranked"
        lines.append("")
        lines.append(f"Variant `{label}` is selected by no machine ({why}).")
    return lines


def print_coverage(report: CoverageReport, *, as_json: bool, as_markdown: bool = False) -> int:
    if as_json:
        sys.stdout.write(json.dumps(coverage_json(report), indent=2) + "\n")
        return 0
    if as_markdown:
        sys.stdout.write("\n".join(coverage_markdown(report)) + "\n")
        return 0
    console = Console(highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("machine")
    table.add_column("gets")
    table.add_column("also compatible / why not a variant", overflow="fold")
    Outcome = build_api.Outcome
    styles = {Outcome.VARIANT: "", Outcome.NULL: "yellow", Outcome.PLAIN: "yellow"}
    for row in report.machines:
        gets = _gets(row)
        style = styles.get(row.outcome, "red")
        detail = _detail(row)
        shown = f"[{style}]{escape(gets)}[/]" if style else escape(gets)
        table.add_row(escape(row.machine.name), shown, escape(detail))
    console.print(table)
    for label in report.unselected:
        why = "compatible with none" if label in report.incompatible else "always outranked"
        console.print(
            f"[yellow]variant {escape(label)!s} is selected by no machine ({why})[/]",
            soft_wrap=True,
        )
    return 0


__all__ = ["coverage_json", "coverage_markdown", "print_coverage", "register", "run"]
