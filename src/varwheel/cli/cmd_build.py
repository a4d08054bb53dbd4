"""``varwheel build [SRC]``: plain and variant wheels from any PEP 517 backend (docs/build.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from varwheel.api import build as build_api
from varwheel.cli import exitcodes
from varwheel.cli.producer import LineReporter
from varwheel.errors import VarwheelError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build a plain or variant wheel with the project's PEP 517 backend",
        description="Build a wheel from a source tree with pypa/build (isolated by default). "
        "Without -p/--null-variant: the plain wheel. With them: the variant, validated against "
        "[variant] and the providers, compiled with the providers' settings (-march=...) and "
        "tagged with variant.json and its label. --all builds the set declared in "
        "[tool.varwheel.build]. Exit 2: bad request or a wrong wheel; 1: the backend failed.",
    )
    parser.add_argument(
        "src", nargs="?", default=".", metavar="SRC", help="source tree (default .)"
    )
    add_variant_arguments(parser)
    parser.add_argument(
        "-o", "--outdir", type=Path, default=None, help="output directory (default SRC/dist)"
    )
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="build with this interpreter's packages instead of a fresh environment",
    )
    parser.add_argument(
        "--skip-dependency-check",
        action="store_true",
        help="with --no-isolation: do not check that the build requirements are installed",
    )
    parser.add_argument(
        "-C",
        "--config-setting",
        dest="config_settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a PEP 517 config setting for the backend (repeatable; a repeated key is a list)",
    )
    parser.add_argument(
        "--native",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let the backend tag the variant itself (scikit-build-core experimental) instead "
        "of post-tagging; default: [tool.varwheel.build] native",
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the environment and config settings the backend would get, build nothing",
    )
    parser.add_argument(
        "--all", action="store_true", help="build every wheel declared in [tool.varwheel.build]"
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=None, help="parallel builds for --all (default: CPUs)"
    )
    add_trust_argument(parser)
    parser.set_defaults(func=run)


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """``--trust-provider`` of the build commands (shared with make-variant)."""
    parser.add_argument(
        "--trust-provider",
        dest="trusted",
        action="append",
        default=[],
        metavar="NAME==VERSION",
        help="run this exact plugin version to validate properties of a non-native provider",
    )


def add_variant_arguments(parser: argparse.ArgumentParser) -> None:
    """``-p``, ``--label``, ``--null-variant`` (shared with make-variant)."""
    parser.add_argument(
        "-p",
        "--property",
        dest="properties",
        action="append",
        default=[],
        metavar="PROP",
        help="a variant property 'namespace :: feature :: value' (repeatable)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--label",
        default=None,
        help="the variant label (default: the label [tool.varwheel.build] declares for these "
        "properties, else variantlib's 8-hex-digit hash)",
    )
    group.add_argument(
        "--null-variant", action="store_true", help="the null variant (no properties)"
    )


def _print_log(err: BaseException, args: argparse.Namespace) -> None:
    log = getattr(err, "log", ())
    if log and getattr(args, "verbose", False):
        print("\n".join(log), file=sys.stderr)


def _request(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments every build entry point takes, as the command line gave them."""
    return {
        "properties": args.properties,
        "label": args.label,
        "null_variant": args.null_variant,
        "config_settings": args.config_settings,
        "native": args.native,
        "trusted": args.trusted,
    }


def run(args: argparse.Namespace) -> int:
    reporter = LineReporter()
    if args.show_settings:
        previews = build_api.preview_settings(
            args.src, declared=args.all, reporter=reporter, **_request(args)
        )
        for preview in previews:
            print(f"# {preview.name} ({preview.backend}{', native' if preview.native else ''})")
            for line in preview.lines:
                print(line)
        return exitcodes.OK
    options = {
        "isolation": not args.no_isolation,
        "check_dependencies": not args.skip_dependency_check,
        "reporter": reporter,
        **_request(args),
    }
    if args.all:
        return _run_all(args, options)
    try:
        built = build_api.build(args.src, args.outdir, **options)
    except VarwheelError as err:
        _print_log(err, args)
        raise
    print(built.path)
    print(f"built {built.path.name} in {built.seconds:.1f} s", file=sys.stderr)
    return exitcodes.OK


def _run_all(args: argparse.Namespace, options: dict[str, Any]) -> int:
    from varwheel.cli.main import printable

    with _Progress(interactive=sys.stderr.isatty()) as progress:
        result = build_api.build_matrix(
            args.src, args.outdir, jobs=args.jobs, on_progress=progress.update, **options
        )
    failed = result.failed
    if not failed:
        for r in result.results:
            print(r.path)
        return exitcodes.OK
    for r in failed:
        _print_log(r.error, args)
        print(f"varwheel: error: {r.entry.name}: {printable(str(r.error))}", file=sys.stderr)
    print(
        f"varwheel: {len(failed)} of {len(result.results)} builds failed; nothing was written "
        f"to {result.out_dir}",
        file=sys.stderr,
    )
    return exitcodes.for_error(failed[0].error)


class _Progress:
    """A rich progress bar on a terminal, one plain line per finished build otherwise."""

    def __init__(self, *, interactive: bool) -> None:
        self._bar: Any = None
        self._task: Any = None
        if interactive:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, progress: build_api.BuildProgress) -> None:
        result = progress.result
        if result is None:  # before the first build: the total is known
            if self._bar is not None:
                self._task = self._bar.add_task("building wheels", total=progress.total)
            return
        state = "failed" if result.error is not None else "built"
        line = (
            f"[{progress.finished}/{progress.total}] {state} {result.entry.name} "
            f"in {result.seconds:.1f} s"
        )
        if self._bar is not None:
            self._bar.console.print(line)
            self._bar.advance(self._task)
        else:
            print(line, file=sys.stderr, flush=True)


__all__ = ["add_trust_argument", "add_variant_arguments", "register", "run"]
