"""``varwheel cache info|clear``: every cache varwheel keeps (unpacked and downloaded wheels,
HTTP pages, provider answers, plugin venvs, interpreter facts) with true sizes."""

from __future__ import annotations

import argparse
import json
import sys

from varwheel import api


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="show or clear varwheel's cache",
        description="The cache holds unpacked and downloaded wheels, HTTP pages (index pages, "
        "metadata, variant JSON), provider answers, plugin venvs and interpreter facts "
        "($VARWHEEL_CACHE_DIR overrides its location). `clear` refuses while another varwheel "
        "holds the cache lock, and never follows a symbolic link out of the cache.",
    )
    sub = parser.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="location, entries and size of each part")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=run_info)
    clear = sub.add_parser("clear", help="remove every cached entry")
    clear.add_argument("--json", action="store_true", help="machine-readable output")
    clear.set_defaults(func=run_clear)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _counted(n: int, label: str) -> str:
    """``1 unpacked wheel``, ``2 unpacked wheels`` (every label is a plural in ``s``)."""
    return f"{n} {label[:-1] if n == 1 else label}"


def _doc(info: api.CacheInfo) -> dict[str, object]:
    return {
        "location": str(info.location),
        "provider_answers": info.answers,
        "plugin_envs": info.plugin_envs,
        "size_bytes": info.size_bytes,
        "parts": {
            p.name: {"path": str(p.path), "entries": p.entries, "size_bytes": p.size_bytes}
            for p in info.parts
        },
    }


def run_info(args: argparse.Namespace) -> int:
    info = api.cache_info()
    if args.json:
        sys.stdout.write(json.dumps(_doc(info), indent=2, sort_keys=True) + "\n")
        return 0
    print(f"location:           {info.location}")
    for part in info.parts:
        count = f"{part.entries:>6}" if part.name != "other" else " " * 6
        print(f"{part.label + ':':<19} {count}  {_size(part.size_bytes):>10}")
    print(f"{'total:':<19} {'':>6}  {_size(info.size_bytes):>10}")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    removed = api.clear_cache()
    if args.json:
        doc = _doc(removed) | {
            "not_removed": [str(p) for p in removed.kept],
            "left_alone": removed.foreign,
        }
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return 1 if removed.kept else 0
    done = [
        _counted(p.entries, p.label) if p.name != "other" else p.label
        for p in removed.parts
        if p.entries or (p.name == "other" and p.size_bytes)
    ]
    what = ", ".join(done) if done else "nothing"
    print(f"removed {what} ({_size(removed.size_bytes)}) from {removed.location}")
    if removed.foreign:
        print(
            f"varwheel: note: left {removed.foreign} other entries in {removed.location} alone: "
            "it is not marked as varwheel's cache (no CACHEDIR.TAG)",
            file=sys.stderr,
        )
    if removed.kept:
        names = ", ".join(p.name for p in removed.kept[:5])
        more = f" and {len(removed.kept) - 5} more" if len(removed.kept) > 5 else ""
        print(
            f"varwheel: error: could not remove {names}{more} from {removed.location}",
            file=sys.stderr,
        )
        return 1
    return 0
