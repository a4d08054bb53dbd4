"""``varwheel install REQ... [-r FILE]``: resolve with variant-aware wheel choice, then install."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.cli.selection_options import (
    add_break_system_packages_argument,
    add_requirement_file_argument,
    add_selection_arguments,
    as_described,
    cross_target_requested,
    flags_from_args,
)
from varwheel.errors import InvalidInput

if TYPE_CHECKING:
    from varwheel.api import Environment, InstallPlan, InstallResult, Reporter


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "install",
        help="install packages, choosing the best wheel variant for this machine",
        description=(
            "Resolve the requirements (newest versions first, like pip) and, per version, choose "
            "the best wheel for the target: variant order first (PEP 817/825), then platform tags."
        ),
    )
    parser.add_argument(
        "requirements",
        nargs="*",
        metavar="REQ",
        help="a requirement (NAME[extras] SPEC ; marker), a wheel file, NAME @ URL, or a "
        "project directory (built into a plain wheel with its PEP 517 backend)",
    )
    parser.add_argument(
        "-e",
        "--editable",
        dest="editables",
        action="append",
        default=[],
        metavar="PATH",
        help="install the project in PATH in editable mode (PEP 660, through pypa/build): "
        "its sources stay where they are (repeatable)",
    )
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
        "--upgrade-strategy",
        choices=("only-if-needed", "eager"),
        help="with -U: 'only-if-needed' (default, as pip) upgrades a dependency only when the "
        "installed version no longer satisfies; 'eager' upgrades every package of the resolution",
    )
    parser.add_argument(
        "--force-reinstall",
        "--reinstall",
        dest="force_reinstall",
        action="store_true",
        help="reinstall every package of the resolution even if already installed (uv's name)",
    )
    parser.add_argument(
        "--reinstall-package",
        dest="reinstall_packages",
        action="append",
        default=[],
        metavar="NAME",
        help="reinstall this package even if already installed (repeatable)",
    )
    parser.add_argument(
        "--require-hashes",
        action="store_true",
        help="pip's hash-checking mode: every requirement pinned with == and given --hash values "
        "in a requirements file; a wheel whose hash differs is refused, nothing is installed",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the plan and what was installed as one JSON object on stdout",
    )
    parser.add_argument(
        "-t",
        "--target",
        type=Path,
        metavar="DIR",
        help="install into this plain directory (scripts in DIR/bin) for --python's "
        "interpreter, else $VIRTUAL_ENV's, else the running one; what DIR holds is kept when it "
        "satisfies the requirements (-U replaces it)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="compile installed modules to bytecode (.pyc), as pip does by default; off like uv",
    )
    parser.add_argument(
        "--link-mode",
        choices=("hardlink", "clone", "copy"),
        help="how files get from varwheel's unpacked-wheel cache into the environment: "
        "hardlink (default; read-only files, a copy across file systems), clone (copy-on-write "
        "file systems, else a copy) or copy (independent files, as pip); $VARWHEEL_LINK_MODE",
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
    from varwheel.cli.plain import make_console
    from varwheel.cli.render import ConsoleReporter

    if args.requirement_files:  # -r pylock.toml: install what the lock selects (PEP 751)
        from varwheel.cli.cmd_sync import install_from_lock, lock_path_of

        lock_path = lock_path_of(args)
        if lock_path is not None:
            return install_from_lock(args, lock_path, sync=False)
    if cross_target_requested(args) and not args.dry_run:
        raise InvalidInput(
            "--python-version/--platform/--implementation/--abi describe another machine: "
            "use them with --dry-run (and --report), or --python PATH to install elsewhere"
        )
    # rich only on a terminal (progress bars); plain lines to a pipe or file (start-up time)
    console = make_console(
        stderr=args.report == "-" or args.json,
        quiet=args.quiet,
        highlight=False,
        soft_wrap=True,
    )
    reporter = ConsoleReporter(console, quiet=args.quiet)
    with _requirements(args, reporter) as reqs:
        return _install(args, reqs, console, reporter)


def _requirements(args: argparse.Namespace, reporter: Reporter) -> Any:
    """The requirements parsed once; project directories and ``-e`` built into wheels first
    (``api.projects``), kept until the install is done."""
    import contextlib

    from varwheel import api
    from varwheel.api import projects

    if args.editables or any(projects.is_local_project(t) for t in args.requirements):
        return projects.local_requirements(
            args.requirements,
            editables=args.editables,
            files=args.requirement_files,
            constraint_files=args.constraint_files,
            isolation=not args.no_build_isolation,
            reporter=reporter,
        )
    reqs = api.read_requirements(
        args.requirements, files=args.requirement_files, constraint_files=args.constraint_files
    )
    return contextlib.nullcontext(reqs)


def _install(args: argparse.Namespace, reqs: Any, console: Any, reporter: Reporter) -> int:
    from varwheel import api
    from varwheel.cli.render import render_installed, render_plan

    settings = api.Settings.load(flags_from_args(args), requirements=reqs.options)
    # a dry run acts on the same target as the real run: same errors, same installed packages
    if args.target is not None:
        from varwheel.api.environment import target_directory

        env = target_directory(settings, args.target, reporter=reporter)
    else:
        env = api.find_environment(settings, access=api.Access.CHANGE, reporter=reporter)
    target = api.target_for(settings, env)
    with api.plan_install(reqs, settings, target, environment=env, reporter=reporter) as plan:
        if args.report:
            _write_report(args.report, plan, as_described(env, args))
        for req in plan.ignored:
            console.print(
                f"Ignoring {req.name}: markers '{req.marker}' don't match the target environment"
            )
        render_plan(
            console,
            plan.resolution,
            dry_run=args.dry_run,
            verbose=getattr(args, "verbose", False),
            installed=plan.installed,
        )
        result = None
        if not args.dry_run and plan.to_install:
            result = api.execute(plan, env, reporter=reporter)
        if args.json:
            _print_json(plan, result, as_described(env, args), reporter, dry_run=args.dry_run)
    if result is None:
        return 0
    render_installed(console, result.installed)
    for line in result.problems:
        reporter.warning(line)
    return 0


def _print_json(
    plan: InstallPlan,
    result: InstallResult | None,
    env: Environment,
    reporter: Reporter,
    *,
    dry_run: bool,
) -> None:
    """``install --json``: pip's installation report (what the plan installs, with each
    item's variant), the target environment, and what was installed, kept and left broken."""
    from varwheel.cli.render import dump_report, environment_json

    doc = {
        **plan.report(),
        "target_environment": environment_json(env),
        "dry_run": dry_run,
        "installed": [
            {
                "name": p.name,
                "version": str(p.candidate.version),
                "variant_label": p.candidate.label,
                "filename": p.candidate.filename,
            }
            for p in (result.installed if result is not None else ())
        ],
        "already_installed": [
            {
                "name": p.name,
                "version": str(p.candidate.version),
                "variant_label": p.candidate.label,
            }
            for p in plan.packages
            if p.candidate.installed
        ],
        "problems": list(result.problems) if result is not None else [],
        "warnings": list(reporter.warnings),
    }
    sys.stdout.write(dump_report(doc))


def _write_report(dest: str, plan: InstallPlan, env: Environment) -> None:
    from varwheel.cli.render import dump_report, environment_json

    text = dump_report({**plan.report(), "target_environment": environment_json(env)})
    if dest == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(dest).write_text(text, encoding="utf-8")
        except OSError as err:
            raise InvalidInput(f"--report {dest}: cannot write: {err.strerror}") from err
