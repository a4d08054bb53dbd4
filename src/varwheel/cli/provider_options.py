"""Provider flags shared by every command that detects support (``install``, ``explain``,
``detect``): trust, optional providers, profiles, external commands, timeouts, cache.

The merge with the configuration (flags over project config over user config; the
permission lists add up) is ``varwheel.settings.Settings``'s (docs/configuration.md#precedence).
"""

from __future__ import annotations

import argparse
from pathlib import Path

# = varwheel.settings.DEFAULT_PROVIDER_TIMEOUT (tests/cli/test_main.py checks): a copy, so that
# building the parser does not import settings and its dataclasses (start-up time)
DEFAULT_TIMEOUT = 10.0


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
