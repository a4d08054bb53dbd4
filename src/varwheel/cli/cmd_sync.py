"""``varwheel sync pylock.toml``: make the environment exactly what the lock selects here.

Also the code behind ``install -r pylock.toml`` (the same without removing anything) and
``explain -r pylock.toml``: the variant of each locked package is chosen on the target at
install time (providers or ``--profile``, ``--variant/--prefer/--forbid/--no-variants``), the
dependency set follows from the chosen wheels' Requires-Dist, and only the listed files are
read, each checked against the lock before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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
    from rich.console import Console

    from varwheel.install.environment import TargetEnvironment
    from varwheel.lock.model import LockFile
    from varwheel.lock.select import LockPlan

# Never removed by sync: the tools that manage the environment (uv's sync keeps its seed
# packages only when asked; removing the installer that runs would break the environment).
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
    """The one ``-r`` file that is a PEP 751 lock (``pylock.toml``, ``pylock.<name>.toml``);
    mixing it with other requirements is refused (a lock is the whole set)."""
    files = list(getattr(args, "requirement_files", None) or ())
    if not files:  # the common case: no lock reader (packaging.pylock, TOML) to import
        return None
    from varwheel.lock.read import is_lock_path

    locks = [f for f in files if is_lock_path(f)]
    if not locks:
        return None
    if len(files) > 1 or getattr(args, "requirements", None) or len(locks) > 1:
        raise InvalidInput(
            f"-r {locks[0]}: a lock file is the whole set of packages; give it alone "
            "(no other requirements or -r files)"
        )
    return Path(locks[0])


def _context(args: argparse.Namespace, lock: LockFile, *, writable: bool) -> tuple[Any, ...]:
    from dataclasses import replace

    from varwheel.cli.provider_options import provider_options_from_args
    from varwheel.cli.selection_options import (
        load_config,
        parse_variant_pins,
        preferences_from_args,
        target_from_args,
    )
    from varwheel.install.installed import installed_versions
    from varwheel.providers.support import support_function
    from varwheel.resolve.options import ResolveOptions

    config = load_config()
    target = target_from_args(args, require_env=writable)
    provider_options = provider_options_from_args(args, config)
    cross = cross_target_requested(args)
    if not cross:
        provider_options = replace(provider_options, target_python=str(target.python))
    versions = None if cross else installed_versions(target)
    support = support_function(provider_options, target.marker_env, versions)
    options = ResolveOptions(
        prefs=preferences_from_args(args, config), variant_for=parse_variant_pins(args.variant)
    )
    return target, support, options


def plan_for(args: argparse.Namespace, lock_path: Path, *, writable: bool) -> tuple[Any, ...]:
    from varwheel.lock.read import read_lock
    from varwheel.lock.select import select_from_lock

    lock = read_lock(lock_path)
    for line in lock.warnings:
        print(f"varwheel: warning: {line}", file=sys.stderr)
    target, support, options = _context(args, lock, writable=writable)
    plan = select_from_lock(
        lock, tags=target.tags, marker_env=target.marker_env, support_for=support, options=options
    )
    return lock, target, plan


def install_from_lock(args: argparse.Namespace, lock_path: Path, *, sync: bool) -> int:
    from varwheel.cli.plain import make_console
    from varwheel.install.installed import installed_distributions
    from varwheel.lock.plan import work_for

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
    lock, target, plan = plan_for(args, lock_path, writable=True)
    quiet = bool(getattr(args, "quiet", False))
    console = make_console(quiet=quiet, highlight=False, soft_wrap=True)  # rich on a terminal only
    installed = installed_distributions(target)
    work = work_for(plan, installed, force=bool(getattr(args, "force_reinstall", False)))
    wanted = {p.name for p in plan.items}
    kept = protected(target) if sync else frozenset()
    extraneous = sorted(n for n in installed if n not in wanted and n not in kept) if sync else []
    for text in plan.ignored:
        console.print(f"Ignoring {text}: markers don't match the target environment")
    if dry_run:
        for item in work.install:
            console.print(f"Would install {_describe(item)}")
        for name in extraneous:
            console.print(f"Would remove {name} {installed[name].version}")
        return 0
    if work.install:
        _install(
            target,
            lock,
            lock_path,
            work.install,
            console,
            compile_bytecode=bool(getattr(args, "compile", False)),
        )
    if extraneous:
        from varwheel.install.transaction import uninstall

        for name in extraneous:
            console.print(f"Removing {name} {installed[name].version}")
        uninstall(target, extraneous)
    if not work.install and not extraneous:
        console.print("Nothing to do: the environment matches the lock")
    else:
        console.print(
            f"Installed {len(work.install)} package(s)"
            + (f", removed {len(extraneous)}" if extraneous else "")
            + f" from {lock_path.name}"
        )
    return 0


def protected(target: TargetEnvironment) -> frozenset[str]:
    """The tools sync never removes and everything they need as installed in the target (their
    Requires-Dist, followed): removing ``packaging`` from under the varwheel that is running
    sync (or from the one installed in the target) would break it. Unlike ``uv sync``, which
    is exact and removes even ``pip``, varwheel treats these as the environment's tooling."""
    import re

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from varwheel.install.installed import installed_from_env

    installed = installed_from_env(target)
    env = {**dict(target.marker_env), "extra": ""}
    keep: set[str] = set()
    todo = [n for n in PROTECTED if n in installed]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        for line in installed[name].requires_dist:  # type: ignore[index]
            # a line packaging cannot read (variant markers, PEP 825) or a marker it cannot
            # evaluate: keep the named distribution, to be safe
            try:
                req = Requirement(line)
                name_text = req.name
            except InvalidRequirement:
                found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
                if found is None:
                    continue
                req, name_text = None, found.group(1)
            try:
                applies = req is None or req.marker is None or req.marker.evaluate(env)
            except (ValueError, LookupError):
                applies = True
            dep = canonicalize_name(name_text)
            if applies and dep in installed:
                todo.append(dep)
    return frozenset(keep | PROTECTED)


def _describe(item: Any) -> str:
    from varwheel.cli.plain import escape

    label = f"variant {item.label!r}" if item.label is not None else "non-variant"
    why = f": {item.decided_by}" if item.decided_by else ""
    return escape(
        f"{item.name} {item.package.version} ({label}) {item.wheel.filename.filename}{why}"
    )


def _install(
    target: TargetEnvironment,
    lock: LockFile,
    lock_path: Path,
    items: Any,
    console: Console,
    *,
    compile_bytecode: bool,
) -> None:
    from varwheel.install.transaction import install_wheels
    from varwheel.lock.plan import fetch, verify

    client = None
    from varwheel.lock.model import is_file_url

    if any(i.wheel.url and not is_file_url(i.wheel.url) for i in items):
        from varwheel.cli.selection_options import cache_dir
        from varwheel.index.client import IndexClient

        client = IndexClient(no_index=True, cache_dir=cache_dir())
    with tempfile.TemporaryDirectory(prefix="varwheel-sync-", ignore_cleanup_errors=True) as tmp:
        paths = fetch(items, Path(tmp), lock_dir=lock_path.resolve().parent, client=client)
        for line in verify(items, paths):
            print(f"varwheel: warning: {line}", file=sys.stderr)
        # said only now: a refused file (hash, size, metadata) installs nothing
        for item in items:
            console.print(f"Installing {_describe(item)}")
        install_wheels(
            target,
            paths,
            requested={i.name for i in items if i.requested},
            compile_bytecode=compile_bytecode,
        )


# -- explain -r pylock.toml ------------------------------------------------------------------


def explain_json(plan: LockPlan) -> dict[str, Any]:
    out = []
    for item in plan.items:
        ranked = {r.wheel.filename: (i + 1, r) for i, r in enumerate(item.selection.ranked)}
        wheels = []
        for w in sorted(item.package.wheels, key=lambda w: w.filename.filename):
            name = w.filename.filename
            rej = next((r for r in item.selection.rejected if r.wheel.filename == name), None)
            rank = ranked.get(name)
            wheels.append(
                {
                    "filename": name,
                    "label": w.label,
                    "status": "chosen"
                    if w == item.wheel
                    else ("compatible" if rank else "rejected"),
                    "rank": rank[0] if rank else None,
                    "reason": None
                    if rej is None
                    else {"code": rej.reason.code, "message": rej.reason.message},
                }
            )
        out.append(
            {
                "name": item.name,
                "version": str(item.package.version),
                "chosen": {
                    "filename": item.wheel.filename.filename,
                    "label": item.label,
                    "decided_by": item.decided_by,
                    "properties": sorted(str(p) for p in item.properties),
                },
                "required_by": list(item.required_by),
                "dependencies": list(item.dependencies),
                "wheels": wheels,
            }
        )
    return {"packages": out}


def explain_lock(args: argparse.Namespace, lock_path: Path) -> int:
    from varwheel.cli.plain import escape, make_console
    from varwheel.lock.select import NoLockedWheel

    try:
        _lock, target, plan = plan_for(args, lock_path, writable=False)
    except NoLockedWheel as exc:
        print(f"varwheel: {exc}", file=sys.stderr)
        return 1
    doc = explain_json(plan)
    if getattr(args, "json", False):
        doc["environment"] = dict(target.marker_env)
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
