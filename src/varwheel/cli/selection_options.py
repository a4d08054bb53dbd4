"""Flags shared by ``install`` and ``explain``: indexes, target, variant selection.

Cross-target flags (``--python-version``, ``--platform``, ``--implementation``, ``--abi``)
describe a machine other than this one, as pip's do; like pip, they are accepted only with
``--dry-run`` for ``install`` (a report or plan can be made for any target, but files can
only be installed into an environment whose interpreter we can run: use ``--python PATH``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

# Heavy layers (HTTP client, resolver, providers) are imported where used, so that building
# the argument parser for every command stays cheap.
if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from varwheel.api import Config, Environment, IndexClient, Preferences, Reporter
    from varwheel.settings import Flags, Settings
    from varwheel.target import CrossTarget

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
        default=None,  # not given: VARWHEEL_INDEX_STRATEGY, the config, else first-index
        help=(
            "with several indexes: 'first-index' (default, as uv) takes a project only from the "
            "first index that lists it, so a later index cannot shadow it; 'unsafe-best-match' "
            "(as pip) merges the files of every index"
        ),
    )
    group.add_argument(
        "--index",
        dest="indexes",
        action="append",
        default=[],
        metavar="[NAME=]URL",
        help="a named index, searched before --index-url (as uv's --index); NAME for --index-for",
    )
    group.add_argument(
        "--index-for",
        action="append",
        default=[],
        metavar="PROJECT=NAME|URL",
        help="take PROJECT only from this index (e.g. torch=pytorch); repeatable",
    )
    group.add_argument(
        "--keyring-provider",
        choices=("disabled", "subprocess"),
        default=None,
        help="'subprocess': after HTTP 401, ask the 'keyring' command for the password",
    )
    group.add_argument("--cert", metavar="PATH", help="CA bundle to verify HTTPS indexes with")
    group.add_argument(
        "--client-cert", metavar="PATH", help="PEM file with a client certificate and its key"
    )
    group.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="HTTP read timeout (default 30)"
    )
    group.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="retries on connection errors and HTTP 5xx, with backoff (default 3)",
    )
    group.add_argument(
        "--refresh",
        action="store_true",
        help="revalidate cached index pages and *-variants.json even while still fresh",
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
    group.add_argument(
        "--only-binary",
        action=_FormatControlAction,
        metavar="NAMES|:all:|:none:",
        help="never build these projects (comma-separated) from sdists: wheels only (as pip)",
    )
    group.add_argument(
        "--no-binary",
        action=_FormatControlAction,
        metavar="NAMES|:all:|:none:",
        help="build these projects from their sdists, ignoring their wheels (as pip); a wheel "
        "built here is never a variant (PEP 817), so this opts out of variants for them",
    )


class _FormatControlAction(argparse.Action):
    """``--only-binary``/``--no-binary`` values kept in command-line order (pip's later wins)."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        flag = "only-binary" if option_string == "--only-binary" else "no-binary"
        given = list(getattr(namespace, "format_control", None) or [])
        namespace.format_control = [*given, (flag, str(values))]


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
        metavar="NAME=LABEL|null|'ns :: f :: v'",
        help="project NAME's variant: a label of that version, null (the variant without "
        "properties), or a property (repeatable: the best variant with all of them); "
        "docs/variants.md",
    )
    group.add_argument(
        "--force-variant",
        action="store_true",
        help="install the --variant variant even if this target does not support it (never "
        "another version; recorded, shown by list)",
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


def add_break_system_packages_argument(parser: argparse.ArgumentParser) -> None:
    """``--break-system-packages`` (pip's and uv's flag; also ``VARWHEEL_BREAK_SYSTEM_PACKAGES``
    or ``PIP_BREAK_SYSTEM_PACKAGES`` set to 1)."""
    parser.add_argument(
        "--break-system-packages",
        action="store_true",
        help="allow changing an externally-managed (PEP 668) system interpreter's packages",
    )


def cross_target_requested(args: argparse.Namespace) -> bool:
    return any(getattr(args, flag, None) for flag in CROSS_TARGET_FLAGS)


def cross_target_from_args(args: argparse.Namespace) -> CrossTarget:
    from varwheel.target import CrossTarget

    return CrossTarget(
        python_version=getattr(args, "python_version", None),
        platforms=tuple(getattr(args, "platform", None) or ()),
        implementation=getattr(args, "implementation", None),
        abis=tuple(getattr(args, "abi", None) or ()),
    )


def flags_from_args(args: argparse.Namespace) -> Flags:
    """The flags a command was given (absent ones: not given); ``Settings.load`` merges and
    validates them."""

    def words(name: str) -> tuple[str, ...]:
        return tuple(getattr(args, name, None) or ())

    def flag(name: str) -> bool:
        return bool(getattr(args, name, False))

    from varwheel.settings import Flags

    profile = getattr(args, "profile", None)
    return Flags(
        index_url=getattr(args, "index_url", None),
        extra_index_urls=words("extra_index_url"),
        find_links=words("find_links"),
        no_index=flag("no_index"),
        index_strategy=getattr(args, "index_strategy", None),
        pre=flag("pre"),
        no_build=flag("no_build"),
        no_build_isolation=flag("no_build_isolation"),
        prefer=words("prefer"),
        forbid=words("forbid"),
        no_variants=flag("no_variants"),
        variants=words("variant"),
        force_variant=flag("force_variant"),
        no_deps=flag("no_deps"),
        upgrade=flag("upgrade"),
        force_reinstall=flag("force_reinstall"),
        compile_bytecode=flag("compile"),
        python=getattr(args, "python", None),
        cross=cross_target_from_args(args),
        profile=profile if isinstance(profile, Path) else None,
        trust_providers=words("trust_provider"),
        enable_providers=words("enable_provider"),
        external_providers=words("external_provider"),
        strict_providers=getattr(args, "strict_providers", None),
        provider_timeout=getattr(args, "provider_timeout", None),
        no_cache=flag("no_cache"),
        break_system_packages=flag("break_system_packages"),
        link_mode=getattr(args, "link_mode", None),
        refresh=flag("refresh"),
        indexes=words("indexes"),
        index_for=words("index_for"),
        keyring_provider=getattr(args, "keyring_provider", None),
        cert=getattr(args, "cert", None),
        client_cert=getattr(args, "client_cert", None),
        timeout=getattr(args, "timeout", None),
        retries=getattr(args, "retries", None),
        reinstall_packages=words("reinstall_packages"),
        upgrade_strategy=getattr(args, "upgrade_strategy", None),
        format_control=tuple(getattr(args, "format_control", None) or ()),
        require_hashes=flag("require_hashes"),
    )


# -- for commands not yet on the API (lock, sync): the same merge, through Settings ----------


def load_config() -> Config:
    from varwheel.settings import load_config as _load

    return _load()


def parse_variant_pins(values: list[str]) -> dict[NormalizedName, str]:
    from varwheel.settings import parse_variant_pins as _parse

    return _parse(values)


def preferences_from_args(args: argparse.Namespace, config: Config | None = None) -> Preferences:
    """Flags first; ``prefer``/``forbid``/``no-variants`` from the config when no flag is given."""
    return _settings(args, config).selection_preferences()


def _settings(args: argparse.Namespace, config: Config | None) -> Settings:
    from varwheel.settings import Settings

    return Settings.load(
        flags_from_args(args), config=config if config is not None else load_config()
    )


def requirements_from_args(
    args: argparse.Namespace,
) -> tuple[list[Requirement], argparse.Namespace]:
    """The requirements of the command line and its ``-r`` files (each text parsed once), and
    a copy of ``args`` with the files' index options and ``-c`` constraints merged in (flags
    given on the command line win): for ``lock``, which reads them from its arguments; the API
    commands use ``Settings``. ``args`` itself is never changed."""
    from varwheel.api import read_requirements

    reqs = read_requirements(
        getattr(args, "requirements", None) or (),
        files=getattr(args, "requirement_files", None) or (),
        constraint_files=getattr(args, "constraint_files", None) or (),
    )
    files = reqs.options
    assert files is not None
    merged = argparse.Namespace(**vars(args))
    merged.index_url = args.index_url or files.index_url
    merged.extra_index_url = [*args.extra_index_url, *files.extra_index_urls]
    merged.find_links = [*args.find_links, *files.find_links]
    merged.no_index = args.no_index or files.no_index
    merged.pre = args.pre or files.pre
    merged.constraints = files.constraints
    merged.required_hashes = files.hashes
    merged.direct_lines = files.direct
    return list(reqs.requirements), merged


def target_from_args(
    args: argparse.Namespace, *, require_env: bool, reporter: Reporter | None = None
) -> Environment:
    """The environment ``install`` changes (``require_env``) or ``explain`` reads
    (``api.find_environment``), with the cross-target flags applied to its tags and markers."""
    from varwheel.api import Access, find_environment
    from varwheel.settings import Settings

    if reporter is None:
        from varwheel.cli.render import ConsoleReporter

        reporter = ConsoleReporter(quiet=bool(getattr(args, "quiet", False)))
    settings = Settings(
        python=getattr(args, "python", None),
        break_system_packages=_break_system_packages(args),
    )
    env = find_environment(
        settings, access=Access.CHANGE if require_env else Access.INSPECT, reporter=reporter
    )
    return as_described(env, args)


def as_described(env: Environment, args: argparse.Namespace) -> Environment:
    """``env`` with the cross-target flags applied, as ``target_environment`` in ``--json`` and
    ``--report`` (and the "Explaining for" line) describe it."""
    cross = cross_target_from_args(args)
    if not cross:
        return env
    return env.with_overrides(
        python_version=cross.python_version,
        platforms=cross.platforms,
        implementation=cross.implementation,
        abis=cross.abis,
    )


def _break_system_packages(args: argparse.Namespace) -> bool:
    from varwheel.settings import break_system_packages_from_environ

    return bool(getattr(args, "break_system_packages", False)) or (
        break_system_packages_from_environ()
    )


def index_client_from_args(args: argparse.Namespace, config: Config) -> IndexClient:
    return _settings(args, config).index_client()


def cache_dir() -> Path | None:
    """varwheel's cache root (HTTP pages and wheels), shared with ``varwheel cache``."""
    from varwheel.settings import default_cache_dir

    return default_cache_dir()
