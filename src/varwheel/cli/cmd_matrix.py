"""``varwheel matrix [PROJECT]``: the declared build matrix for humans and CI, and its coverage of
target machines (docs/build-matrix.md)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from varwheel.build.coverage import (
    CoverageReport,
    MachineCoverage,
    Outcome,
    coverage,
    resolve_machines,
)
from varwheel.build.matrix import (
    BuildKind,
    BuildMatrix,
    MatrixEntry,
    load_matrix,
    project_metadata,
    pyproject_path,
    read_pyproject,
)
from varwheel.errors import InvalidInput
from varwheel.spec.model import VariantMetadata

# GitHub Actions: "A matrix can generate a maximum of 256 jobs per workflow run"; a job output
# (how the matrix reaches the next job) holds at most 1 MB.
GITHUB_MAX_JOBS = 256
GITHUB_MAX_OUTPUT = 1_000_000
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


# --------------------------------------------------------------------------- per-entry forms


def variant_args(entry: MatrixEntry) -> list[str]:
    """The ``varwheel build`` / ``make-variant`` arguments selecting this entry."""
    if entry.kind is BuildKind.PLAIN:
        return []
    if entry.kind is BuildKind.NULL:
        return ["--null-variant"]
    args: list[str] = []
    for prop in entry.properties:
        args += ["-p", str(prop)]
    return [*args, "--label", str(entry.label)]


def build_command(entry: MatrixEntry, project: str, out_dir: str) -> str:
    """The ``varwheel build`` line of one CI job. The project's own settings for the entry
    (``config-settings`` as ``-C``, ``env`` through ``env NAME=value``) are spelled out: a
    single ``varwheel build -p ... --label ...`` applies the provider-informed settings only."""
    path = Path(project)
    source_dir = path.parent if path.name == "pyproject.toml" else path
    src = [] if source_dir == Path(".") else [str(source_dir)]
    prefix = ["env", *(f"{k}={v}" for k, v in sorted(entry.env.items()))] if entry.env else []
    settings = [
        arg
        for key, value in sorted(entry.config_settings.items())
        for item in ((value,) if isinstance(value, str) else value)
        for arg in ("-C", f"{key}={item}")
    ]
    argv = [*prefix, "varwheel", "build", *src, *variant_args(entry), *settings, "-o", out_dir]
    return shlex.join(argv)


def cibw_config_settings(settings: Mapping[str, str | tuple[str, ...]]) -> str:
    """``CIBW_CONFIG_SETTINGS``: space separated ``key=value`` items, shell-split by
    cibuildwheel; a list value repeats its key."""
    items = [
        f"{key}={item}"
        for key, value in sorted(settings.items())
        for item in ((value,) if isinstance(value, str) else value)
    ]
    return shlex.join(items)


def cibw_environment(env: Mapping[str, str]) -> str:
    """``CIBW_ENVIRONMENT``: ``NAME="value"`` pairs, bash syntax. Flag variables that
    ``varwheel build`` appends to (CFLAGS, ...) keep the build machine's own value first."""
    from varwheel.build.settings import APPENDED_ENV

    parts = []
    for name, value in sorted(env.items()):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        escaped = escaped.replace("$", "\\$")
        if name in APPENDED_ENV:
            escaped = f"${name} {escaped}"
        parts.append(f'{name}="{escaped}"')
    return " ".join(parts)


def entry_json(matrix: BuildMatrix, entry: MatrixEntry) -> dict[str, Any]:
    settings = matrix.settings(entry)
    return {
        "name": entry.name,
        "kind": entry.kind.value,
        "label": entry.label,
        "properties": [str(p) for p in entry.properties],
        "config_settings": {
            k: v if isinstance(v, str) else list(v)
            for k, v in sorted(settings.config_settings.items())
        },
        "env": dict(sorted(settings.env.items())),
    }


def github_entry(matrix: BuildMatrix, entry: MatrixEntry, project: str, out_dir: str) -> dict:
    """One ``include`` item: flat strings only, so every value drops into ``run:`` or ``env:``."""
    settings = matrix.settings(entry)
    return {
        "name": entry.name,
        "kind": entry.kind.value,
        "label": entry.label or "",
        "properties": "; ".join(str(p) for p in entry.properties),
        "variant_args": shlex.join(variant_args(entry)),
        "command": build_command(entry, project, out_dir),
        "config_settings": cibw_config_settings(settings.config_settings),
        "environment": cibw_environment(settings.env),
    }


def github_matrix(
    matrix: BuildMatrix, entries: list[MatrixEntry], project: str, out_dir: str
) -> str:
    if len(entries) > GITHUB_MAX_JOBS:
        raise InvalidInput(
            f"{matrix.source}: {len(entries)} builds exceed GitHub Actions' limit of "
            f"{GITHUB_MAX_JOBS} jobs per matrix; split the matrix (--entry) or drop variants"
        )
    doc = {"include": [github_entry(matrix, e, project, out_dir) for e in entries]}
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True)
    if len(text) >= GITHUB_MAX_OUTPUT:
        raise InvalidInput(
            f"{matrix.source}: the matrix JSON is {len(text)} bytes; a GitHub job output holds "
            "at most 1 MB"
        )
    return text


def cibuildwheel_lines(matrix: BuildMatrix, entries: list[MatrixEntry]) -> list[str]:
    """``NAME=value`` lines ($GITHUB_ENV syntax: the value is taken verbatim), one block per
    entry headed by a comment."""
    lines: list[str] = []
    for entry in entries:
        settings = matrix.settings(entry)
        if len(entries) > 1:
            shown = "; ".join(map(str, entry.properties)) or entry.kind.value
            lines.append(f"# {entry.name}: {shown}")
        lines.append(f"CIBW_CONFIG_SETTINGS={cibw_config_settings(settings.config_settings)}")
        lines.append(f"CIBW_ENVIRONMENT={cibw_environment(settings.env)}")
    return lines


# --------------------------------------------------------------------------- run


def _table(matrix: BuildMatrix, entries: list[MatrixEntry]) -> None:
    console = Console(highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("entry")
    table.add_column("properties", overflow="fold")
    table.add_column("settings", overflow="fold")
    for entry in entries:
        props = "\n".join(map(str, entry.properties)) or f"({entry.kind.value})"
        lines = "\n".join(matrix.settings(entry).as_lines()) or "-"
        table.add_row(escape(entry.name), escape(props), escape(lines))
    console.print(table)


def run(args: argparse.Namespace) -> int:
    if args.coverage is None and (args.json or args.markdown or args.enable_provider):
        flag = "--json" if args.json else "--markdown" if args.markdown else "--enable-provider"
        raise InvalidInput(f"{flag} goes with --coverage (for the matrix itself: --format json)")
    file = pyproject_path(args.project)
    source = str(file)
    doc = read_pyproject(file)
    matrix = load_matrix(doc, source=source)
    if args.coverage is not None:
        md = project_metadata(doc, source=source) if matrix.variants else None
        return print_coverage(
            matrix, md, args.coverage, args.enable_provider, as_json=args.json,
            as_markdown=args.markdown,
        )  # fmt: skip
    entries = [matrix.entry(args.entry)] if args.entry else list(matrix.entries)
    project = args.project
    if args.format == "github":
        sys.stdout.write(github_matrix(matrix, entries, project, args.out_dir) + "\n")
    elif args.format == "cibuildwheel":
        sys.stdout.write("\n".join(cibuildwheel_lines(matrix, entries)) + "\n")
    elif args.format == "json":
        out = {
            "project": source,
            "native": matrix.native,
            "entries": [
                {**entry_json(matrix, e), "command": build_command(e, project, args.out_dir)}
                for e in entries
            ],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        _table(matrix, entries)
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
    return {
        Outcome.VARIANT: f"{row.label}",
        Outcome.NULL: "null (fallback)",
        Outcome.PLAIN: "non-variant (fallback)",
        Outcome.NONE: "nothing installs",
    }[row.outcome]


def _detail(row: MachineCoverage) -> str:
    return ", ".join(row.compatible[1:]) if row.outcome is Outcome.VARIANT else row.reason


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


def print_coverage(
    matrix: BuildMatrix,
    md: VariantMetadata | None,
    items: list[str],
    enabled: list[str],
    *,
    as_json: bool,
    as_markdown: bool = False,
) -> int:
    machines = resolve_machines(items)
    report = coverage(matrix, md or VariantMetadata(()), machines, enabled_optional=enabled)
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
