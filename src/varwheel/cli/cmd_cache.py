"""``varwheel cache info|clear``: the on-disk cache of provider answers and plugin venvs."""

from __future__ import annotations

import argparse
import json
import sys

from varwheel import api


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="show or clear varwheel's cache",
        description="The cache holds provider answers and plugin venvs "
        "($VARWHEEL_CACHE_DIR overrides its location).",
    )
    sub = parser.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="location, entries and size")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=run_info)
    clear = sub.add_parser("clear", help="remove every cached entry")
    clear.set_defaults(func=run_clear)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def run_info(args: argparse.Namespace) -> int:
    info = api.cache_info()
    if args.json:
        doc = {
            "location": str(info.location),
            "provider_answers": info.answers,
            "plugin_envs": info.plugin_envs,
            "size_bytes": info.size_bytes,
        }
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return 0
    print(f"location:          {info.location}")
    print(f"provider answers:  {info.answers}")
    print(f"plugin venvs:      {info.plugin_envs}")
    print(f"size:              {_size(info.size_bytes)}")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    removed = api.clear_cache()
    print(
        f"removed {removed.answers} provider answers and {removed.plugin_envs} plugin venvs "
        f"({_size(removed.size_bytes)}) from {removed.location}"
    )
    return 0
