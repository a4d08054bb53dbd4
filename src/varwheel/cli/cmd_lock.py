"""``varwheel lock REQ... | -r FILE [-o pylock.toml] [--profile P ...]``: a PEP 751 lock that
keeps the variant choice for install time, for several target machines at once (docs/lock.md).

``--check`` exits 0 when re-locking would write the same bytes, 1 when the lock is stale (CI);
``--upgrade-package NAME`` frees one package from the versions already locked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from varwheel.cli.selection_options import (
    add_index_arguments,
    add_requirement_file_argument,
    add_target_arguments,
)
from varwheel.errors import InvalidInput

STALE = 1


def register(subparsers: Any) -> None:
    from varwheel.cli.provider_options import add_provider_arguments

    parser = subparsers.add_parser(
        "lock",
        help="write a pylock.toml (PEP 751) that keeps the variant choice for install time",
        description=(
            "Resolve for every target (--profile, repeatable; default: this machine) and every "
            "variant it may pick, and write one pylock.toml listing those wheels with their "
            "hashes and the inline variant metadata (PEP 825)."
        ),
        conflict_handler="resolve",  # our --profile is repeatable: one target each
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ")
    add_requirement_file_argument(parser, help="read requirements from a file (repeatable)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("pylock.toml"),
        help="the lock file (default: pylock.toml)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 0 if the lock is up to date, 1 if locking again would change it",
    )
    parser.add_argument(
        "--upgrade-package",
        "-P",
        action="append",
        default=[],
        metavar="NAME",
        help="allow a newer version of NAME than the one locked (repeatable)",
    )
    parser.add_argument(
        "-U", "--upgrade", action="store_true", help="ignore the versions already locked"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    add_index_arguments(parser)
    add_target_arguments(parser)
    add_provider_arguments(parser)
    parser.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="X.Y",
        help="a target Python version (repeatable: one target each)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a target machine (varwheel detect --output); repeatable: one lock for all of them",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from packaging.utils import canonicalize_name

    from varwheel.cli.provider_options import provider_options_from_args
    from varwheel.cli.selection_options import (
        index_client_from_args,
        load_config,
        requirements_from_args,
        target_from_args,
    )
    from varwheel.fsutil import atomic_write
    from varwheel.lock.create import make_lock
    from varwheel.lock.model import LockTargetInfo
    from varwheel.lock.read import is_lock_path, parse_lock, read_lock
    from varwheel.lock.targets import recorded_path, shown_profile_path, targets_from_profiles
    from varwheel.lock.write import dumps
    from varwheel.providers.support import support_function
    from varwheel.resolve.options import ResolveOptions

    output: Path = args.output
    if not is_lock_path(output):
        raise InvalidInput(f"-o {output}: PEP 751 names a lock pylock.toml or pylock.<name>.toml")
    lock_dir = output.resolve().parent
    existing = read_lock(output) if output.exists() else None
    profiles: list[Path] = list(args.profile)
    if not args.requirements and not args.requirement_files and existing is not None:
        # re-lock (or check) from the inputs the lock recorded
        args.requirements = list(existing.requirements)
        inputs = existing.inputs
        if not args.index_url and isinstance(inputs.get("index-url"), str):
            args.index_url = inputs["index-url"]
        if not args.find_links and isinstance(inputs.get("find-links"), list):
            args.find_links = [_recorded_link(str(x), lock_dir) for x in inputs["find-links"]]
        args.no_index = args.no_index or bool(inputs.get("no-index"))
        for key, attr in (("python-versions", "python_version"), ("platforms", "platform")):
            if not getattr(args, attr) and isinstance(inputs.get(key), list):
                setattr(args, attr, [str(x) for x in inputs[key]])
        if not profiles:
            profiles = list(
                dict.fromkeys(
                    recorded_path(t.profile, lock_dir) for t in existing.targets if t.profile
                )
            )
    reqs, args = requirements_from_args(args)  # a merged copy; parsing changes no args
    config = load_config()
    args.profile = None  # one provider setup per target, below
    # --python-version sets: one target each (for profiles without the machine keys)
    versions = list(args.python_version or ()) or [None]
    args.python_version = None
    local = target_from_args(args, require_env=False)
    pythons = [local.with_overrides(python_version=v) if v else local for v in versions]
    targets = targets_from_profiles(profiles, pythons)
    provider_options = provider_options_from_args(args, config)
    # every variant a target supports is locked; --prefer/--forbid/--variant act at install time
    # A lock lists wheels only, so locking never builds: building an sdist would only run its
    # build backend (arbitrary code: `lock --check` re-locks from the requirements and index
    # a cloned lock records) to learn metadata of a version the lock must refuse anyway.
    options = ResolveOptions(allow_prereleases=bool(args.pre), allow_sdists=False)
    client = index_client_from_args(args, config)

    def support_for(target: Any) -> Any:
        opts = replace(provider_options, profile=target.profile)
        return support_function(opts, target.marker_env, None)

    upgrade = {canonicalize_name(n) for n in args.upgrade_package}
    preferred = {}
    if existing is not None and not args.upgrade:
        preferred = {p.name: p.version for p in existing.packages if p.name not in upgrade}
        for name in sorted(upgrade - {p.name for p in existing.packages}):
            # a typo must not pass for "nothing newer": say that nothing was freed
            print(f"varwheel: warning: -P {name}: {output} does not lock it", file=sys.stderr)
    infos = [
        LockTargetInfo(
            name=t.name,
            marker_env=dict(t.marker_env),
            profile=shown_profile_path(t.profile, lock_dir) if t.profile else None,
            profile_sha256=t.profile_sha256,
        )
        for t in targets
    ]
    inputs: dict[str, object] = {}
    if args.index_url:
        inputs["index-url"] = args.index_url
    if args.find_links:
        inputs["find-links"] = [_shown_link(str(x), lock_dir) for x in args.find_links]
    if args.no_index:
        inputs["no-index"] = True
    if versions != [None]:
        inputs["python-versions"] = [str(v) for v in versions]
    if args.platform:
        inputs["platforms"] = list(args.platform)
    try:
        result = make_lock(
            reqs,
            targets,
            client=client,
            support_for=support_for,
            options=options,
            lock_dir=lock_dir,
            preferred=preferred,
            inputs=inputs,
            target_infos=infos,
        )
    finally:
        for line in client.warnings:
            print(f"varwheel: warning: {line}", file=sys.stderr)
    for note in result.notes:
        print(f"varwheel: note: {note}", file=sys.stderr)
    text = dumps(result.lock)
    parse_lock(text, source=str(output))  # what we write must read back (PEP 751 + our names)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current == text:
            if not args.quiet:
                print(f"{output} is up to date")
            return 0
        why = "does not exist" if current is None else "is stale: locking again would change it"
        print(f"{output} {why}", file=sys.stderr)
        return STALE
    try:
        atomic_write(output, text.encode("utf-8"))
    except OSError as exc:
        raise InvalidInput(f"-o {output}: cannot write the lock: {exc.strerror or exc}") from None
    if not args.quiet:
        variants = sum(1 for p in result.lock.packages if p.variants is not None)
        print(
            f"Locked {len(result.lock.packages)} package(s) ({variants} with variants) for "
            f"{len(targets)} target(s) into {output}"
        )
    return 0


def _is_url(text: str) -> bool:
    return "://" in text or text.startswith("file:")


def _shown_link(text: str, lock_dir: Path) -> str:
    """A ``--find-links`` location as recorded: URLs as given, directories relative to the lock
    (like its wheel ``path`` entries), so the lock's bytes do not depend on the working
    directory and ``lock --check`` works from anywhere."""
    from varwheel.lock.targets import shown_profile_path

    return text if _is_url(text) else shown_profile_path(Path(text), lock_dir)


def _recorded_link(text: str, lock_dir: Path) -> str:
    from varwheel.lock.targets import recorded_path

    return text if _is_url(text) else str(recorded_path(text, lock_dir))
