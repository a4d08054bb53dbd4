"""``varwheel install REQ... [-r FILE]``: resolve with variant-aware wheel choice, then install."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.cli.selection_options import (
    SelectionContext,
    add_break_system_packages_argument,
    add_requirement_file_argument,
    add_selection_arguments,
    build_context,
    cross_target_requested,
    requirements_from_args,
)
from varwheel.errors import InvalidInput
from varwheel.install.hashes import check_hashes, check_hashes_given, required_hashes
from varwheel.resolve.requirement import ignored_by_markers
from varwheel.resolve.verify import verify_downloads

if TYPE_CHECKING:
    from rich.console import Console

    from varwheel.resolve.resolver import Resolution, ResolvedPackage


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "install",
        help="install packages, choosing the best wheel variant for this machine",
        description=(
            "Resolve the requirements (newest versions first, like pip) and, per version, choose "
            "the best wheel for the target: variant order first (PEP 817/825), then platform tags."
        ),
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ")
    add_requirement_file_argument(parser, help="install from a requirements file (repeatable)")
    parser.add_argument(
        "-c",
        "--constraint",
        dest="constraint_files",
        action="append",
        default=[],
        metavar="FILE",
        help="narrow versions with a constraints file (installs nothing by itself; repeatable)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="resolve and report, install nothing"
    )
    parser.add_argument("--no-deps", action="store_true", help="do not install dependencies")
    parser.add_argument(
        "--report",
        metavar="FILE|-",
        help="write a pip-style installation report (JSON) to FILE, or stdout with '-'",
    )
    parser.add_argument(
        "-U",
        "--upgrade",
        action="store_true",
        help="upgrade the named packages to the newest versions (dependencies only if needed)",
    )
    parser.add_argument(
        "--force-reinstall", action="store_true", help="reinstall even if already installed"
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="compile installed modules to bytecode (.pyc), as pip does by default; off like uv",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,  # keep `varwheel -v install` working
        help="say why each wheel was chosen; show tracebacks",
    )
    add_selection_arguments(parser)
    add_break_system_packages_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from varwheel.cli.cmd_sync import install_from_lock, lock_path_of
    from varwheel.cli.render import render_installed, render_plan

    lock_path = lock_path_of(args)  # -r pylock.toml: install what the lock selects (PEP 751)
    if lock_path is not None:
        return install_from_lock(args, lock_path, sync=False)
    if cross_target_requested(args) and not args.dry_run:
        raise InvalidInput(
            "--python-version/--platform/--implementation/--abi describe another machine: "
            "use them with --dry-run (and --report), or --python PATH to install elsewhere"
        )
    reqs = requirements_from_args(args)
    # another machine's packages are not the ones installed here
    keep_installed = not cross_target_requested(args)
    # a dry run acts on the same target as the real run: same errors, same installed packages
    ctx = build_context(args, reqs, require_env=True, keep_installed=keep_installed)
    try:
        resolution = ctx.session.resolve(reqs)
        for line in resolution.warnings():
            print(f"varwheel: warning: {line}", file=sys.stderr)
        console = Console(
            stderr=args.report == "-", highlight=False, soft_wrap=True, quiet=args.quiet
        )
        if args.report:
            _write_report(args.report, ctx, resolution)
        for req in ignored_by_markers(reqs, ctx.target.marker_env):
            console.print(
                f"Ignoring {req.name}: markers '{req.marker}' don't match the target environment"
            )
        verbose = getattr(args, "verbose", False)
        render_plan(
            console,
            resolution,
            dry_run=args.dry_run,
            verbose=verbose,
            installed=ctx.session.installed,
        )
        todo = [p for p in resolution.packages if not p.candidate.installed]
        if args.dry_run or not todo:
            return 0
        hashes = required_hashes(getattr(args, "required_hashes", ()))
        _install(ctx, todo, console, compile_bytecode=args.compile, hashes=hashes)
    finally:
        ctx.session.close()
        ctx.index_warnings.flush()
    render_installed(console, todo)
    from varwheel.install.check import dependency_problems
    from varwheel.install.installed import installed_from_env

    touched = {p.name for p in todo}
    for line in dependency_problems(
        installed_from_env(ctx.target), ctx.target.marker_env, touched=touched
    ):
        print(f"varwheel: warning: {line}", file=sys.stderr)
    return 0


def _install(
    ctx: SelectionContext,
    todo: list[ResolvedPackage],
    console: Console,
    *,
    compile_bytecode: bool = False,
    hashes: dict[str, set[str]] | None = None,
) -> None:
    """Download (and build) every wheel first, then install all of them in one transaction;
    installed distributions of the same projects are replaced (upgrade, reinstall)."""
    from varwheel.install.transaction import direct_url_documents, install_wheels

    # ignore_cleanup_errors: after Ctrl-C a download thread may still be writing there
    with tempfile.TemporaryDirectory(prefix="varwheel-install-", ignore_cleanup_errors=True) as tmp:
        if hashes:
            check_hashes_given(todo, hashes)
        paths = _fetch_wheels(ctx, todo, Path(tmp), console)
        if hashes:
            check_hashes(todo, paths, hashes)
        for line in verify_downloads(todo, paths):
            print(f"varwheel: warning: {line}", file=sys.stderr)
        install_wheels(
            ctx.target,
            paths,
            requested={p.name for p in todo if p.requested},
            direct_urls=direct_url_documents(todo, paths),
            compile_bytecode=compile_bytecode,
        )


def _write_report(dest: str, ctx: SelectionContext, resolution: Resolution) -> None:
    from varwheel.cli.render import environment_json
    from varwheel.install.report import build_report, dump_report

    report = {
        **build_report(
            resolution, marker_env=ctx.target.marker_env, metadata_of=ctx.session.metadata
        ),
        "target_environment": environment_json(ctx.target),
    }
    text = dump_report(report)
    if dest == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(dest).write_text(text, encoding="utf-8")
        except OSError as err:
            raise InvalidInput(f"--report {dest}: cannot write: {err.strerror}") from err


def _fetch_wheels(
    ctx: SelectionContext, todo: list[ResolvedPackage], dest: Path, console: Console
) -> list[Path]:
    from varwheel.cli.render import download_progress

    wheel_pkgs = [p for p in todo if not p.candidate.is_sdist]
    files = [p.candidate.file for p in wheel_pkgs if p.candidate.file is not None]
    with download_progress(console, len(files)) as progress:
        downloaded = ctx.client.download_many(files, dest, progress)  # type: ignore[arg-type]
    by_name = {p.filename: path for p, path in zip(files, downloaded, strict=True)}
    out: list[Path] = []
    for pkg in todo:
        cand = pkg.candidate
        if cand.is_sdist:
            out.append(pkg.built_wheel or ctx.session.built_wheel(cand))
        else:
            out.append(by_name[cand.filename])
    return out
