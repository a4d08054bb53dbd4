"""Provider flags shared by every command that detects support (``install``, ``explain``,
``detect``): trust, optional providers, profiles, external commands, timeouts, cache.

Precedence: flags over project config over user config. The permission lists
(``--trust-provider``, ``--enable-provider``, ``--external-provider``) add to the configured
ones; scalar flags replace them.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from varwheel.config import Config
from varwheel.errors import InvalidInput
from varwheel.providers.cache import cache_root
from varwheel.providers.detect import DEFAULT_TIMEOUT, ProviderOptions
from varwheel.providers.runner import PluginSource
from varwheel.providers.trust import parse_pins
from varwheel.spec.properties import NAMESPACE_RE


def add_provider_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("variant providers")
    group.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="use the supported properties in this TOML profile instead of running any provider",
    )
    group.add_argument(
        "--trust-provider",
        action="append",
        default=[],
        metavar="NAME==VERSION",
        help="allow installing and running this exact third-party provider plugin (repeatable)",
    )
    group.add_argument(
        "--enable-provider",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="query this optional provider (repeatable)",
    )
    group.add_argument(
        "--external-provider",
        action="append",
        default=[],
        metavar="NS=COMMAND",
        help="run COMMAND as the provider of namespace NS (docs/provider-protocol.md; repeatable)",
    )
    group.add_argument(
        "--strict-providers",
        action="store_true",
        default=None,
        help="fail when a provider cannot answer, instead of treating its variants as incompatible",
    )
    group.add_argument(
        "--provider-timeout",
        type=float,
        metavar="SECONDS",
        help=f"time limit for one plugin or external provider run (default {DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the on-disk provider cache",
    )


def parse_external(items: list[str]) -> dict[str, tuple[str, ...]]:
    """``ns=cmd args`` items into ``{ns: argv}``."""
    commands: dict[str, tuple[str, ...]] = {}
    for item in items:
        ns, sep, cmd = item.partition("=")
        ns = ns.strip()
        try:
            argv = shlex.split(cmd)
        except ValueError as exc:
            raise InvalidInput(f"--external-provider {item!r}: {exc}") from exc
        if not sep or not NAMESPACE_RE.fullmatch(ns) or not argv:
            raise InvalidInput(
                f"--external-provider {item!r}: expected NAMESPACE=COMMAND, "
                "e.g. 'tpu=/opt/bin/tpu-provider --fast'"
            )
        commands[ns] = tuple(argv)
    return commands


def _warn(line: str) -> None:
    # lines may quote downloaded metadata (markers, plugin errors): never let it drive the terminal
    safe = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in line)
    print(f"varwheel: warning: {safe}", file=sys.stderr)


def provider_options_from_args(args: argparse.Namespace, config: Config) -> ProviderOptions:
    """Merge flags over ``config``; warnings go to stderr once each."""
    for line in config.warnings:
        _warn(line)
    trusted = tuple(config.trusted_providers) + tuple(getattr(args, "trust_provider", []) or [])
    parse_pins(trusted)  # a bad pin fails now, naming the flag or file
    for ns in getattr(args, "enable_provider", []) or []:
        if not NAMESPACE_RE.fullmatch(ns):
            raise InvalidInput(f"--enable-provider: invalid namespace {ns!r}")
    enabled = tuple(
        dict.fromkeys([*config.enable_providers, *(getattr(args, "enable_provider", []) or [])])
    )
    external = dict(config.external_providers)
    external.update(parse_external(getattr(args, "external_provider", []) or []))
    timeout = getattr(args, "provider_timeout", None)
    if timeout is None:
        timeout = (
            config.provider_timeout if config.provider_timeout is not None else DEFAULT_TIMEOUT
        )
    if not math.isfinite(timeout) or timeout <= 0:  # float() also parses "nan" and "inf"
        raise InvalidInput(f"--provider-timeout: must be positive, got {timeout:g}")
    strict = getattr(args, "strict_providers", None)
    if strict is None:
        strict = bool(config.strict_providers)
    profile = getattr(args, "profile", None) or config.profile
    return ProviderOptions(
        profile=profile,
        trusted=trusted,
        enabled_optional=enabled,
        strict=strict,
        timeout=float(timeout),
        external=external,
        cache=not getattr(args, "no_cache", False),
        cache_dir=cache_root(),
        plugin_source=plugin_source(args, config),
        on_warning=_warn,
    )


def plugin_source(args: argparse.Namespace, config: Config) -> PluginSource:
    """Where trusted plugins are installed from: the USER's index options only.

    The command line (flags, and ``-r`` files the user names there) and the user config count;
    a project's ``[tool.varwheel]`` never does, so a cloned repository cannot make a trusted pin
    resolve to other code (its index keys still apply to the packages being installed). With
    none of these, pip's own defaults apply (PyPI, or the user's pip configuration).
    Relative local paths are made absolute (command line: the current directory; user config:
    its own directory), because pip runs in a private directory.
    """
    user = config.user_layer or Config()
    base = user.sources[0].parent if user.sources else Path.cwd()
    cli_links = tuple(getattr(args, "find_links", []) or [])
    links = (
        tuple(_absolute(link, Path.cwd()) for link in cli_links)
        if cli_links
        else tuple(_absolute(link, base) for link in user.find_links)
    )
    return PluginSource(
        index_url=getattr(args, "index_url", None) or user.index_url,
        extra_index_urls=tuple(getattr(args, "extra_index_url", []) or []) or user.extra_index_url,
        find_links=links,
        no_index=bool(getattr(args, "no_index", False)),
    )


def _absolute(link: str, base: Path) -> str:
    if "://" in link or link.startswith("file:"):
        return link
    path = Path(link).expanduser()
    return str(path if path.is_absolute() else base / path)
