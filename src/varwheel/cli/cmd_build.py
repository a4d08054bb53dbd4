"""``varwheel build [SRC]``: plain and variant wheels from any PEP 517 backend (docs/build.md)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from varwheel.cli import exitcodes
from varwheel.errors import InvalidInput, InvalidProperty, VarwheelError
from varwheel.spec.properties import VariantProperty


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


def trusted_pins(args: argparse.Namespace) -> tuple[str, ...]:
    """``--trust-provider`` pins after the user config's ``trusted-providers`` (as install)."""
    from varwheel.config import load_config
    from varwheel.providers.trust import parse_pins

    pins = (*load_config().trusted_providers, *args.trusted)
    parse_pins(pins)  # a bad pin fails now, naming the flag or the file
    return tuple(pins)


def parse_properties(texts: list[str]) -> tuple[VariantProperty, ...]:
    out = []
    for text in texts:
        try:
            out.append(VariantProperty.parse(text))
        except InvalidProperty as err:
            raise InvalidProperty(f"-p {text!r}: {err}") from None
    return tuple(out)


def parse_config_settings(texts: list[str]) -> dict[str, str | tuple[str, ...]]:
    """``-C key=value`` items; a key given twice becomes a list (pypa/build's convention)."""
    settings: dict[str, str | tuple[str, ...]] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise InvalidInput(f"-C {text!r}: expected KEY=VALUE")
        if key in settings:
            old = settings[key]
            settings[key] = (*((old,) if isinstance(old, str) else old), value)
        else:
            settings[key] = value
    return settings


@contextlib.contextmanager
def backend_warnings() -> Iterator[None]:
    """Show each warning a build backend emits (pyproject_hooks re-raises them here as
    ``BuildBackendWarning``, with the backend's file and line) once, on one line."""
    seen: set[str] = set()
    original = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, *rest: Any) -> None:
        if category.__name__ != "BuildBackendWarning":
            original(message, category, filename, lineno, *rest)
            return
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"varwheel: warning: build backend: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def run(args: argparse.Namespace) -> int:
    with backend_warnings():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from varwheel.build import frontend

    src = Path(args.src)
    out = args.outdir if args.outdir is not None else src / "dist"
    props = parse_properties(args.properties)
    config = parse_config_settings(args.config_settings)
    if args.all:
        if props or args.label or args.null_variant:
            raise InvalidInput("--all builds the declared set: drop -p, --label, --null-variant")
        return _run_all(args, src, out, config)
    label = args.label
    if props and label is None and not args.null_variant:
        project = frontend.load_project(src)
        label = declared_label_for(project.document, props, str(project.pyproject))
    if args.show_settings:
        return _show(src, props, args, config, label)
    start = time.perf_counter()
    try:
        path = frontend.build_wheel(
            src,
            out,
            properties=props,
            label=label,
            null_variant=args.null_variant,
            isolation=not args.no_isolation,
            config_settings=config,
            native=args.native,
            trusted=trusted_pins(args),
            check_dependencies=not args.skip_dependency_check,
        )
    except VarwheelError as err:
        _print_log(err, args)
        raise
    print(path)
    print(f"built {path.name} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return exitcodes.OK


def declared_label_for(
    document: Any, props: tuple[VariantProperty, ...], source: str
) -> str | None:
    """The matrix's label for ``props`` (said on stderr), so that ``-p`` alone builds the
    declared wheel rather than the hash-labelled one."""
    from varwheel.build.frontend import declared_label

    label = declared_label(document, props, source=source)
    if label is not None:
        print(f"varwheel: label {label!r}: declared for these properties in {source}",
              file=sys.stderr)  # fmt: skip
    return label


def _print_log(err: BaseException, args: argparse.Namespace) -> None:
    log = getattr(err, "log", ())
    if log and getattr(args, "verbose", False):
        print("\n".join(log), file=sys.stderr)


def _show(
    src: Path,
    props: tuple[VariantProperty, ...],
    args: argparse.Namespace,
    config: dict[str, Any],
    label: str | None,
) -> int:
    from varwheel.build import frontend

    project = frontend.load_project(src)
    _print_settings(project, props, label, args.null_variant, args, config, {})
    return exitcodes.OK


def _show_entry(project: Any, entry: Any, args: argparse.Namespace, config: dict[str, Any]) -> None:
    from varwheel.build.matrix import BuildKind

    _print_settings(
        project,
        entry.properties,
        entry.label if entry.kind is BuildKind.VARIANT else None,
        entry.kind is BuildKind.NULL,
        args,
        {**entry.config_settings, **config},
        entry.env,
    )


def _print_settings(
    project: Any,
    props: tuple[VariantProperty, ...],
    label: str | None,
    null: bool,
    args: argparse.Namespace,
    config: dict[str, Any],
    env: Any,
) -> None:
    from varwheel.build import frontend
    from varwheel.build.request import resolve_request

    request = None
    if props or null:
        request = resolve_request(
            project.variant_metadata(), props, label=label, null=null, trusted=trusted_pins(args)
        )
    native = project.native if args.native is None else args.native
    settings = frontend.plan_settings(
        project, request, config_settings=config, env=env, native=native
    )
    name = request.label if request is not None else "non-variant"
    print(f"# {name} ({project.backend}{', native' if native and request else ''})")
    for line in settings.as_lines():
        print(line)


def _run_all(args: argparse.Namespace, src: Path, out: Path, config: dict[str, Any]) -> int:
    from varwheel.build import frontend
    from varwheel.build.matrix import load_matrix

    project = frontend.load_project(src)
    matrix = load_matrix(project.document, source=str(project.pyproject))
    if not matrix.entries:
        raise InvalidInput(f"{project.pyproject}: [tool.varwheel.build] declares no wheel")
    if args.show_settings:
        for entry in matrix.entries:
            _show_entry(project, entry, args, config)
        return exitcodes.OK
    jobs = args.jobs or os.cpu_count() or 1
    progress = _Progress(len(matrix.entries), interactive=sys.stderr.isatty())
    with progress:
        results = frontend.build_all(
            src,
            out,
            matrix,
            isolation=not args.no_isolation,
            jobs=jobs,
            config_settings=config,
            native=args.native,
            trusted=trusted_pins(args),
            check_dependencies=not args.skip_dependency_check,
            on_done=progress.done,
        )
    failed = [r for r in results if r.error is not None]
    if not failed:
        for r in results:
            print(r.path)
    else:
        from varwheel.cli.main import printable

        for r in failed[:-1]:
            _print_log(r.error, args)
            print(f"varwheel: error: {r.entry.name}: {printable(str(r.error))}", file=sys.stderr)
        last = failed[-1]
        _print_log(last.error, args)
        print(f"varwheel: error: {last.entry.name}: {printable(str(last.error))}", file=sys.stderr)
        print(
            f"varwheel: {len(failed)} of {len(results)} builds failed; nothing was written to {out}",
            file=sys.stderr,
        )
        return exitcodes.for_error(failed[0].error)
    return exitcodes.OK


class _Progress:
    """A rich progress bar on a terminal, one plain line per finished build otherwise."""

    def __init__(self, total: int, *, interactive: bool) -> None:
        self.total = total
        self.finished = 0
        self._bar: Any = None
        if interactive:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task("building wheels", total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def done(self, result: Any) -> None:
        self.finished += 1
        state = "failed" if result.error is not None else "built"
        line = (
            f"[{self.finished}/{self.total}] {state} {result.entry.name} in {result.seconds:.1f} s"
        )
        if self._bar is not None:
            self._bar.console.print(line)
            self._bar.advance(self._task)
        else:
            print(line, file=sys.stderr, flush=True)
