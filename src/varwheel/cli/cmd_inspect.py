"""``varwheel inspect PATH``: validate and show the variant metadata of a file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from varwheel import api
from varwheel.codes import FileKind

if TYPE_CHECKING:
    from varwheel.api import Inspection

# by ``spec.model.SchemaGeneration`` value
_GENERATIONS = {
    "0.0": "PEP 817 (v0.0.x: install-time, enable-if, top-level static-properties)",
    "0.1": "PEP 825 (v0.1.x: namespaces and variants only)",
    "0.2": "PEP 825 + providers (v0.2.0)",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="validate and show the variant metadata of a wheel, variant.json, "
        "*-variants.json or pyproject.toml",
        description="Validate the variant metadata in PATH and show its schema, providers, "
        "namespace priority and variants. Exit 0 when valid, 2 when not.",
    )
    parser.add_argument(
        "path", metavar="PATH", help="a .whl, variant.json, *-variants.json or pyproject.toml"
    )
    parser.add_argument("--json", action="store_true", help="print a stable JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = api.inspect(args.path)
    if args.json:
        sys.stdout.write(json.dumps(api.inspection_json(result), indent=2, sort_keys=True) + "\n")
    else:
        render(result)
    return 0


def _provider_line(ns: str, data: dict[str, Any]) -> str:
    parts = [data["kind"] if data["install_time"] else "static (AoT, install-time = false)"]
    if data["requires"]:
        parts.append("requires " + ", ".join(data["requires"]))
    if data["build_requires"]:
        parts.append("build-requires " + ", ".join(data["build_requires"]))
    if data["plugin_api"]:
        parts.append(f"plugin-api {data['plugin_api']}")
    if data["builtin"]:
        parts.append(f"builtin {data['builtin']}")
    if data["static_properties"] is not None:
        order = data["feature_order"] or list(data["static_properties"])
        parts.append(
            "static-properties "
            + "; ".join(f"{f} = {', '.join(data['static_properties'].get(f, []))}" for f in order)
        )
    if data["optional"]:
        parts.append("optional")
    if data["enable_if"]:
        parts.append(f"enable-if {data['enable_if']}")
    return f"{ns}: " + " | ".join(parts)


def render(result: Inspection) -> None:
    """Human output (rich is imported here only, on a terminal: ``--json``, pipes and errors
    stay fast; ``NO_COLOR``/``FORCE_COLOR`` as ``cli.plain.make_console`` says)."""
    from varwheel.cli.plain import escape, make_console

    console = make_console(highlight=False, soft_wrap=True)
    data = api.inspection_json(result)
    md = result.metadata
    console.print(f"[bold]{escape(result.path)}[/] ({escape(result.kind)})")
    if result.kind == FileKind.WHEEL:
        console.print(f"  label: {escape(result.wheel_label or '(none: non-variant wheel)')}")
    if result.project is not None:
        console.print(f"  project: {escape(result.project)} {escape(result.version or '')}")
    if md is None:
        console.print("  no variant metadata")
        return
    console.print(f"  schema: {escape(md.schema or '(pyproject.toml, no $schema)')}")
    console.print(f"  generation: {escape(_GENERATIONS[md.generation.value])}")
    console.print(f"  namespace priority: {escape(' > '.join(md.namespace_priorities))}")
    if data["providers"]:
        console.print("  providers:")
        for ns, pdata in data["providers"].items():
            console.print(f"    {escape(_provider_line(ns, pdata))}")
    for ns, features in data["feature_priorities"].items():
        console.print(f"  feature priority {escape(ns)}: {escape(' > '.join(features))}")
    for ns, by_feature in data["property_priorities"].items():
        for feature, values in by_feature.items():
            console.print(
                f"  value priority {escape(ns)} :: {escape(feature)}: {escape(' > '.join(values))}"
            )
    if md.variants:
        console.print(f"  variants ({len(md.variants)}):")
        width = max(len(label) for label in data["variants"])
        for label, props in data["variants"].items():
            lines = props or ["(null variant)"]
            for i, line in enumerate(lines):
                shown = label.ljust(width) if i == 0 else " " * width
                console.print(f"    {escape(shown)}  {escape(line)}")
    for warning in md.warnings:
        console.print(f"  [yellow]warning:[/] {escape(warning)}")
    if result.conversion_error:
        console.print(f"  [yellow]schema v0.2.0:[/] {escape(result.conversion_error)}")
    for warning in result.conversion_warnings:
        console.print(f"  [yellow]as schema v0.2.0:[/] {escape(warning)}")
    console.print("  [green]valid[/]")
