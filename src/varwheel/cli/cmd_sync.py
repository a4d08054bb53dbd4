"""``varwheel sync pylock.toml``: make the environment exactly what the lock selects here.

Also the code behind ``install -r pylock.toml`` (the same without removing anything) and
``explain -r pylock.toml``: parse, then ``varwheel.api.lock`` (``plan_from_lock``,
``sync_changes``, ``sync``, ``explain_lock``) decides, and this module prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.cli.selection_options import (
    add_break_system_packages_argument,
    add_target_arguments,
    add_variant_arguments,
    cross_target_requested,
)
from varwheel.errors import InvalidInput

if TYPE_CHECKING:
    from varwheel.api import Environment, Reporter, Settings
    from varwheel.api.lock import LockSelection

# the tools sync never removes (= varwheel.api.lock.PROTECTED; a copy, so that building the
# parser imports no library module)
PROTECTED = frozenset({"pip", "varwheel", "setuptools", "wheel"})


def register(subparsers: Any) -> None:
    from varwheel.cli.provider_options import add_provider_arguments

    parser = subparsers.add_parser(
        "sync",
        help="install exactly what a pylock.toml selects for this machine, removing the rest",
        description=(
            "Choose each locked package's wheel on this target (variants by providers or "
            "--profile), install them with no resolution and no index, and remove installed "
            f"distributions the lock does not select (never {', '.join(sorted(PROTECTED))})."
        ),
    )
    parser.add_argument("lock", metavar="PYLOCK", help="pylock.toml or pylock.<name>.toml")
    parser.add_argument("--dry-run", action="store_true", help="say what would change")
    parser.add_argument("--force-reinstall", action="store_true", help="reinstall everything")
    parser.add_argument("--compile", action="store_true", help="compile to bytecode")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    add_target_arguments(parser)
    add_variant_arguments(parser)
    add_provider_arguments(parser)
    add_break_system_packages_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return install_from_lock(args, Path(args.lock), sync=True)


def lock_path_of(args: argparse.Namespace) -> Path | None:
    """The one ``-r`` file that is a PEP 751 lock (``varwheel.api.lock.lock_path_of``)."""
    files = list(getattr(args, "requirement_files", None) or ())
    if not files:  # the common case: no lock reader (packaging.pylock, TOML) to import
        return None
    from varwheel.api.lock import lock_path_of as _lock_path_of

    return _lock_path_of(files, other_requirements=bool(getattr(args, "requirements", None)))


def _select(
    args: argparse.Namespace, lock_path: Path, *, writable: bool
) -> tuple[Settings, Environment, LockSelection, Reporter]:
    from varwheel import api
    from varwheel.api.lock import plan_from_lock, read_lock_file
    from varwheel.cli.render import ConsoleReporter
    from varwheel.cli.selection_options import flags_from_args

    reporter = ConsoleReporter(quiet=bool(getattr(args, "quiet", False)))
    lock = read_lock_file(lock_path, reporter=reporter)  # a malformed lock: before anything
    settings = api.Settings.load(flags_from_args(args))
    access = api.Access.CHANGE if writable else api.Access.INSPECT
    env = api.find_environment(settings, access=access, reporter=reporter)
    target = api.target_for(settings, env)
    selection = plan_from_lock(
        lock_path, settings, target, environment=env, lock=lock, reporter=reporter
    )
    return settings, env, selection, reporter


def install_from_lock(args: argparse.Namespace, lock_path: Path, *, sync: bool) -> int:
    from varwheel.api.lock import sync as apply
    from varwheel.api.lock import sync_changes
    from varwheel.cli.plain import make_console

    dry_run = bool(getattr(args, "dry_run", False))
    if cross_target_requested(args) and not dry_run:
        raise InvalidInput(
            "--python-version/--platform/--implementation/--abi describe another machine: "
            "use them with --dry-run, or --python PATH to install elsewhere"
        )
    for flag in ("report", "no_deps", "upgrade", "constraint_files"):
        if getattr(args, flag, None):
            shown = "-c" if flag == "constraint_files" else "--" + flag.replace("_", "-")
            raise InvalidInput(
                f"{shown} does not apply to a lock file: it is the whole set, resolved"
            )
    _settings, env, selection, reporter = _select(args, lock_path, writable=True)
    quiet = bool(getattr(args, "quiet", False))
    console = make_console(quiet=quiet, highlight=False, soft_wrap=True)  # rich on a terminal only
    changes = sync_changes(
        selection, env, exact=sync, force_reinstall=bool(getattr(args, "force_reinstall", False))
    )
    for text in selection.ignored:
        console.print(f"Ignoring {text}: markers don't match the target environment")
    if dry_run:
        for item in changes.install:
            console.print(f"Would install {_describe(item)}")
        for name, version in changes.remove:
            console.print(f"Would remove {name} {version}")
        return 0

    def installed(items: Any) -> None:  # said only now: a refused file installs nothing
        for item in items:
            console.print(f"Installing {_describe(item)}")

    def removing(remove: Any) -> None:
        for name, version in remove:
            console.print(f"Removing {name} {version}")

    result = apply(
        selection, changes, env, after_install=installed, before_remove=removing, reporter=reporter
    )
    if changes.empty:
        console.print("Nothing to do: the environment matches the lock")
    else:
        console.print(
            f"Installed {len(result.installed)} package(s)"
            + (f", removed {len(result.removed)}" if result.removed else "")
            + f" from {lock_path.name}"
        )
    return 0


def _describe(item: Any) -> str:
    from varwheel.cli.plain import escape

    label = f"variant {item.label!r}" if item.label is not None else "non-variant"
    why = f": {item.decided_by}" if item.decided_by else ""
    return escape(
        f"{item.name} {item.package.version} ({label}) {item.wheel.filename.filename}{why}"
    )


# -- explain -r pylock.toml ------------------------------------------------------------------


def explain_lock(args: argparse.Namespace, lock_path: Path) -> int:
    from varwheel.api.lock import LockExplanation, NoLockedWheel
    from varwheel.cli.plain import escape, make_console

    try:
        _settings, _env, selection, _reporter = _select(args, lock_path, writable=False)
    except NoLockedWheel as exc:
        print(f"varwheel: {exc}", file=sys.stderr)
        return 1
    doc = LockExplanation(selection).to_json()
    if getattr(args, "json", False):
        doc["environment"] = dict(selection.target.marker_env)
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    console = make_console(highlight=False, soft_wrap=True)  # rich on a terminal only
    for pkg in doc["packages"]:
        chosen = pkg["chosen"]
        label = f"variant {chosen['label']!r}" if chosen["label"] is not None else "non-variant"
        console.print(
            f"[bold]{escape(pkg['name'])} {pkg['version']}[/]: {escape(chosen['filename'])} ({label})"
            + (f": {escape(chosen['decided_by'])}" if chosen["decided_by"] else "")
        )
        console.print(f"  required by: {escape(', '.join(pkg['required_by']))}")
        if pkg["dependencies"]:
            console.print(f"  pulls in: {escape(', '.join(pkg['dependencies']))}")
        for w in pkg["wheels"]:
            if w["status"] == "chosen":
                continue
            why = (
                f"rank {w['rank']}"
                if w["rank"]
                else escape(w["reason"]["message"] if w["reason"] else "")
            )
            console.print(f"  {w['status']}: {escape(w['filename'])} ({why})")
    return 0
