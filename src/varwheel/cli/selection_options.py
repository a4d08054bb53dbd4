"""Flags shared by ``install`` and ``explain``: indexes, target, variant selection.

Cross-target flags (``--python-version``, ``--platform``, ``--implementation``, ``--abi``)
describe a machine other than this one, as pip's do; like pip, they are accepted only with
``--dry-run`` for ``install`` (a report or plan can be made for any target, but files can
only be installed into an environment whose interpreter we can run: use ``--python PATH``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from varwheel.errors import InvalidInput
from varwheel.install.installed import installed_from_env, installed_versions
from varwheel.resolve.requirements_file import (
    RequirementsFile,
    direct_wheel,
    parse_requirements_file,
    requirement_or_wheel,
)
from varwheel.spec.properties import VariantProperty, validate_label

# Heavy layers (HTTP client, resolver, providers) are imported where used, so that building
# the argument parser for every command stays cheap.
if TYPE_CHECKING:
    from varwheel.config import Config
    from varwheel.index.client import IndexClient
    from varwheel.install.environment import TargetEnvironment
    from varwheel.providers.detect import ProviderOptions
    from varwheel.resolve.options import Constraint, ResolveOptions
    from varwheel.resolve.resolver import Session
    from varwheel.spec.model import VariantMetadata
    from varwheel.spec.selection import Preferences, SupportedProperties

CROSS_TARGET_FLAGS = ("python_version", "platform", "implementation", "abi")


def add_requirement_file_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """pip's ``-r/--requirement FILE`` (repeatable) into ``args.requirement_files``."""
    parser.add_argument(
        "-r",
        "--requirement",
        dest="requirement_files",
        action="append",
        default=[],
        metavar="FILE",
        help=help,
    )


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("package index")
    group.add_argument("-i", "--index-url", help="base URL of the simple index (PEP 503/691)")
    group.add_argument(
        "--extra-index-url", action="append", default=[], metavar="URL", help="more indexes"
    )
    group.add_argument(
        "-f",
        "--find-links",
        action="append",
        default=[],
        metavar="PATH|URL",
        help="a directory or HTML page of distribution links",
    )
    group.add_argument("--no-index", action="store_true", help="ignore indexes (find-links only)")
    group.add_argument(
        "--index-strategy",
        choices=("first-index", "unsafe-best-match"),
        default="first-index",
        help=(
            "with several indexes: 'first-index' (default, as uv) takes a project only from the "
            "first index that lists it, so a later index cannot shadow it; 'unsafe-best-match' "
            "(as pip) merges the files of every index"
        ),
    )
    group.add_argument("--pre", action="store_true", help="consider pre-release versions")
    group.add_argument(
        "--no-build-isolation",
        action="store_true",
        help="build sdists with this interpreter's packages instead of a fresh environment",
    )
    group.add_argument(
        "--no-build",
        action="store_true",
        help="never build from source distributions (wheels only)",
    )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target environment")
    group.add_argument(
        "--python",
        metavar="PATH|VERSION",
        help="target interpreter, virtual environment directory, or version (3.12) on PATH",
    )
    group.add_argument("--python-version", metavar="X.Y", help="target Python version")
    group.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="TAG",
        help="target platform tag (repeatable, e.g. manylinux_2_28_x86_64)",
    )
    group.add_argument("--implementation", metavar="IMPL", help="target implementation: cp, pp")
    group.add_argument("--abi", action="append", default=[], metavar="ABI", help="target ABI tag")


def add_variant_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("variant selection")
    group.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=LABEL",
        help="consider only this variant label for project NAME",
    )
    group.add_argument(
        "--force-variant",
        action="store_true",
        help="install the --variant labels even if this target does not support them",
    )
    group.add_argument(
        "--prefer",
        action="append",
        default=[],
        metavar="'ns :: f :: v'",
        help="prefer this property (moves it ahead in the ordering; repeatable)",
    )
    group.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="'ns[ :: f[ :: v]]'",
        help="never select variants with a matching property (repeatable)",
    )
    group.add_argument(
        "--no-variants", action="store_true", help="ignore variant wheels (non-variant only)"
    )


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """All the above plus the provider flags of ``cli/provider_options.py``."""
    from varwheel.cli.provider_options import add_provider_arguments

    add_index_arguments(parser)
    add_target_arguments(parser)
    add_variant_arguments(parser)
    add_provider_arguments(parser)


def cross_target_requested(args: argparse.Namespace) -> bool:
    return any(getattr(args, flag, None) for flag in CROSS_TARGET_FLAGS)


def parse_variant_pins(values: Iterable[str]) -> dict[NormalizedName, str]:
    pins: dict[NormalizedName, str] = {}
    for text in values:
        name, sep, label = text.partition("=")
        if not sep or not name.strip() or not label.strip():
            raise InvalidInput(f"--variant {text!r}: expected NAME=LABEL, e.g. torch=cuda12.8")
        pins[canonicalize_name(name.strip())] = validate_label(label.strip())
    return pins


def preferences_from_args(args: argparse.Namespace, config: Config | None = None) -> Preferences:
    """Flags first; ``prefer``/``forbid``/``no-variants`` from the config when no flag is given."""
    from varwheel.spec.ordering import ForbidPattern
    from varwheel.spec.selection import Preferences

    prefer_texts = list(args.prefer) or list(getattr(config, "prefer", ()) or ())
    forbid_texts = list(args.forbid) or list(getattr(config, "forbid", ()) or ())
    no_variants = bool(args.no_variants) or bool(getattr(config, "no_variants", False))
    prefer = tuple(VariantProperty.parse(text) for text in prefer_texts)
    forbid = tuple(ForbidPattern.parse(text).text for text in forbid_texts)
    if args.force_variant and not args.variant:
        raise InvalidInput("--force-variant needs --variant NAME=LABEL")
    return Preferences(
        prefer=prefer,
        forbid=forbid,
        force_variant=bool(args.force_variant),
        variants_enabled=not no_variants,
    )


def resolve_options_from_args(
    args: argparse.Namespace, requirements: Sequence[Requirement], config: Config | None = None
) -> ResolveOptions:
    from varwheel.resolve.options import ResolveOptions

    requested = frozenset(canonicalize_name(r.name) for r in requirements)
    upgrade = requested if getattr(args, "upgrade", False) else frozenset()
    return ResolveOptions(
        prefs=preferences_from_args(args, config),
        variant_for=parse_variant_pins(args.variant),
        allow_prereleases=bool(args.pre),
        no_deps=bool(getattr(args, "no_deps", False)),
        upgrade=upgrade,
        force_reinstall=bool(getattr(args, "force_reinstall", False)),
        allow_sdists=not args.no_build,
        build_isolation=not args.no_build_isolation,
    )


def requirements_from_args(args: argparse.Namespace) -> list[Requirement]:
    """The requirements of the command line and its ``-r`` files. The files' index options
    and ``-c`` constraints are merged into ``args`` (flags given on the command line win)."""
    reqs = [requirement_or_wheel(text) for text in args.requirements]
    files = RequirementsFile()
    for file in getattr(args, "requirement_files", None) or ():
        files += parse_requirements_file(Path(file))
    for file in getattr(args, "constraint_files", None) or ():
        files += parse_requirements_file(Path(file), constraint=True)
    reqs += files.requirements
    if not reqs:
        raise InvalidInput("no requirements given (name some, or use -r FILE)")
    if files.index_url and not args.index_url:
        args.index_url = files.index_url
    args.extra_index_url = [*args.extra_index_url, *files.extra_index_urls]
    args.find_links = [*args.find_links, *files.find_links]
    args.no_index = args.no_index or files.no_index
    args.pre = args.pre or files.pre
    args.constraints = files.constraints
    args.required_hashes = files.hashes
    args.direct_lines = files.direct
    return reqs


# -- from flags to a resolution session -----------------------------------------------------


@dataclass(frozen=True)
class SelectionContext:
    """Everything a command needs to resolve: the target, the index client and the session."""

    target: TargetEnvironment
    client: IndexClient
    session: Session
    provider_options: ProviderOptions
    index_warnings: IndexWarnings


def load_config() -> Config:
    from varwheel.config import load_config as _load

    return _load()


def add_break_system_packages_argument(parser: argparse.ArgumentParser) -> None:
    """``--break-system-packages`` (pip's and uv's flag; also ``VARWHEEL_BREAK_SYSTEM_PACKAGES``
    or ``PIP_BREAK_SYSTEM_PACKAGES`` set to 1)."""
    parser.add_argument(
        "--break-system-packages",
        action="store_true",
        help="allow changing an externally-managed (PEP 668) system interpreter's packages",
    )


def writable_target(
    python: str | None, *, break_system_packages: bool, quiet: bool = False
) -> TargetEnvironment:
    """The environment ``install``/``uninstall`` change: found as ``find_target_environment``
    (``./.venv`` included, as uv), refused when externally managed (PEP 668), named on stderr
    (one line, unless ``quiet``), and any interrupted transaction settled before anything is read."""
    from varwheel.cli.render import describe_environment
    from varwheel.install.environment import find_target_environment, refuse_externally_managed
    from varwheel.install.transaction import recover_if_needed

    env = find_target_environment(python)
    refuse_externally_managed(env, allow=break_system_packages)
    if not quiet:
        print(f"Using environment {describe_environment(env)}", file=sys.stderr)
    note = recover_if_needed(env)
    if note:
        print(f"varwheel: note: {note}", file=sys.stderr)
    return env


def target_from_args(args: argparse.Namespace, *, require_env: bool) -> TargetEnvironment:
    """``install`` (``require_env``, dry runs too: a dry run predicts the real run, so it acts on
    the same environment and fails the same way): ``writable_target``. ``explain``: the
    environment the user named (``--python``, ``$VIRTUAL_ENV``), else the running interpreter;
    never a ``./.venv`` found in the working directory, whose interpreter would be run just to
    read its facts (a cloned project may commit one). Cross-target flags then replace tags and
    marker values."""
    import os

    from varwheel.install.environment import current_environment, find_target_environment

    if require_env:
        env = writable_target(
            args.python,
            break_system_packages=bool(getattr(args, "break_system_packages", False)),
            quiet=bool(getattr(args, "quiet", False)),
        )
    elif args.python or os.environ.get("VIRTUAL_ENV"):
        env = find_target_environment(args.python, project_venv=False)
    else:
        env = current_environment()
    if cross_target_requested(args):
        env = env.with_overrides(
            python_version=args.python_version,
            platforms=tuple(args.platform),
            implementation=args.implementation,
            abis=tuple(args.abi),
        )
    return env


def index_client_from_args(args: argparse.Namespace, config: Config) -> IndexClient:
    from varwheel.index.client import DEFAULT_INDEX_URL, IndexClient

    index_url = args.index_url or config.index_url or DEFAULT_INDEX_URL
    extra = list(args.extra_index_url) or list(config.extra_index_url)
    find_links = list(args.find_links) or list(config.find_links)
    return IndexClient(
        [index_url],
        extra,
        find_links,
        no_index=bool(args.no_index),
        cache_dir=cache_dir(),
        index_strategy=getattr(args, "index_strategy", None) or "first-index",
    )


class IndexWarnings:
    """Prints the index client's warnings (skipped links, failed extra indexes) to stderr as
    ``varwheel: warning: ...`` lines, each once, however often it is called."""

    def __init__(self, client: IndexClient) -> None:
        self.client = client
        self.shown: set[str] = set()

    def flush(self) -> None:
        import sys

        for line in self.client.warnings:
            if line not in self.shown:
                self.shown.add(line)
                print(f"varwheel: warning: {line}", file=sys.stderr)


def cache_dir() -> Path | None:
    """varwheel's cache root (HTTP pages and wheels), shared with ``varwheel cache``."""
    from varwheel.providers.cache import cache_root

    return cache_root() / "index"


def constraints_for(
    args: argparse.Namespace, marker_env: Mapping[str, str]
) -> tuple[Constraint, ...]:
    """The ``-c`` lines whose markers hold for the target."""
    from varwheel.resolve.options import Constraint

    return tuple(
        Constraint(canonicalize_name(req.name), req.specifier, source)
        for req, source in getattr(args, "constraints", ())
        if req.marker is None or req.marker.evaluate(dict(marker_env))
    )


def build_context(
    args: argparse.Namespace,
    requirements: Sequence[Requirement],
    *,
    require_env: bool,
    keep_installed: bool,
) -> SelectionContext:
    from varwheel.cli.provider_options import provider_options_from_args
    from varwheel.providers.support import support_function
    from varwheel.resolve.resolver import Session

    config = load_config()
    target = target_from_args(args, require_env=require_env)
    client = index_client_from_args(args, config)
    provider_options = provider_options_from_args(args, config)
    cross = cross_target_requested(args)
    if not cross:  # trusted plugins are installed for (and answer about) the target interpreter
        provider_options = replace(provider_options, target_python=str(target.python))
    options = resolve_options_from_args(args, requirements, config)
    options = replace(options, constraints=constraints_for(args, target.marker_env))
    installed = installed_from_env(target) if keep_installed else {}
    # abi_dependency reads the target's distributions; another machine's are unknown
    versions = None if cross else installed_versions(target)

    def support_adding(
        adding: Mapping[str, str],
    ) -> Callable[[VariantMetadata], SupportedProperties]:
        return support_function(provider_options, target.marker_env, versions, adding=adding)

    direct = {}
    for text in (*getattr(args, "requirements", ()), *getattr(args, "direct_lines", ())):
        found = direct_wheel(text)
        if found is not None:
            direct[canonicalize_name(found[0].name)] = found[1]
    session = Session(
        client,
        tags=target.tags,
        marker_env=target.marker_env,
        support_for=support_function(provider_options, target.marker_env, versions),
        options=options,
        installed=installed,
        direct=direct,
        support_adding=support_adding,
    )
    return SelectionContext(target, client, session, provider_options, IndexWarnings(client))
