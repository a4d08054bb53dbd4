"""``varwheel make-variant`` / ``unmake-variant``: tag a built wheel as a variant, or untag it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from varwheel.cli import exitcodes
from varwheel.cli.cmd_build import (
    add_trust_argument,
    add_variant_arguments,
    parse_properties,
    trusted_pins,
)
from varwheel.errors import InvalidInput


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


def _project(path: Path) -> Any:
    from varwheel.build.source_tree import read_project_file

    if not path.is_file():
        raise InvalidInput(
            f"{path}: no such file; pass the project's pyproject.toml with --pyproject"
        )
    return read_project_file(path)


def _same_project(document: Any, pyproject: Path, wheel: Path) -> None:
    """A wheel tagged with another project's [variant] table (make-variant run in the wrong
    directory) would name that project's providers: refused when [project] names another."""
    from packaging.utils import canonicalize_name

    from varwheel.spec.filenames import parse_wheel_filename

    table = document.get("project")
    name = table.get("name") if isinstance(table, dict) else None
    if not isinstance(name, str):
        return  # a dynamic or missing name: nothing to compare
    project = parse_wheel_filename(wheel.name).project
    if canonicalize_name(name) != project:
        raise InvalidInput(
            f"{wheel.name}: a wheel of {project!r}, but {pyproject} is project {name!r}; "
            "pass that project's pyproject.toml with --pyproject"
        )


def run_make(args: argparse.Namespace) -> int:
    from varwheel.build.frontend import check_label_matches_matrix
    from varwheel.build.make_variant import make_variant
    from varwheel.build.request import resolve_request
    from varwheel.cli.cmd_build import declared_label_for
    from varwheel.spec.metadata import load_pyproject

    props = parse_properties(args.properties)
    document = _project(args.pyproject)
    _same_project(document, args.pyproject, args.wheel)
    label = args.label
    if props and label is None and not args.null_variant:
        label = declared_label_for(document, props, str(args.pyproject))
    elif props and label is not None:
        check_label_matches_matrix(document, props, label, source=str(args.pyproject))
    request = resolve_request(
        load_pyproject(document, source=str(args.pyproject)),
        props,
        label=label,
        null=args.null_variant,
        trusted=trusted_pins(args),
        validate=not args.skip_provider_validation,
    )
    path = make_variant(
        args.wheel,
        request.properties,
        label=request.label,
        null=request.is_null,
        out_dir=args.outdir,
        metadata=request.metadata,
    )
    print(path)
    return exitcodes.OK


def run_unmake(args: argparse.Namespace) -> int:
    from varwheel.build.make_variant import unmake_variant

    print(unmake_variant(args.wheel, args.outdir))
    return exitcodes.OK


__all__ = ["register", "run_make", "run_unmake"]
