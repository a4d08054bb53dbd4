"""``varwheel index build|merge``: static simple indexes and CI artifact sets for variant releases.

``index build PATH... -o OUT`` adds the wheels, sdists and ``*-variants.json`` files of PATHs
(files or directories) to the static index OUT (PEP 503 HTML + PEP 691 JSON, PEP 658 metadata,
one merged ``*-variants.json`` per version), creating it when missing. ``index merge DIR... -o
OUT`` combines the artifact directories of several build jobs into one validated directory.
Both validate everything first: on any inconsistency they name the files, exit 2 and write
nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from varwheel.api import publish as publish_api
from varwheel.cli.producer import LineReporter


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "index",
        help="build a static simple index, or merge CI artifact directories",
        description="Static simple indexes (PEP 503/691/658) with one merged "
        "{name}-{version}-variants.json per version (PEP 817), and merging of the artifact "
        "directories of several build jobs. All-or-nothing: an inconsistent set is refused, "
        "with the files named, and nothing is written.",
    )
    sub = parser.add_subparsers(dest="index_command", metavar="SUBCOMMAND")
    sub.required = True
    build = sub.add_parser(
        "build",
        help="add distribution files to a static index (created when missing)",
        description="Add the wheels, sdists and *-variants.json files of PATHs (files or "
        "directories, not recursive) to the static index OUT. Only what changes is rewritten, "
        "each file atomically, pages last: a reader or an interrupted run sees the old index or "
        "the new one. Serve OUT with any static web server and install with "
        "--index-url URL/simple/.",
    )
    build.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    build.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    build.set_defaults(func=run_build)
    merge = sub.add_parser(
        "merge",
        help="combine the artifact directories of several build jobs into one",
        description="Copy the distribution files of every PATH into OUT (the same file name "
        "must carry the same bytes) and write one merged {name}-{version}-variants.json per "
        "version with variant wheels. The result does not depend on the order of PATHs.",
    )
    merge.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    merge.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    merge.set_defaults(func=run_merge)


def run_build(args: argparse.Namespace) -> int:
    result = publish_api.build_index(args.paths, args.output, reporter=LineReporter())
    if getattr(args, "quiet", False):  # errors and warnings only, as pip -q
        return 0
    for name in result.added:
        print(f"added {name}")
    for rel in result.variants_json:
        print(f"wrote {rel}")
    if not result.added and not result.variants_json:
        print(f"{args.output}: already up to date ({len(result.unchanged)} file(s) present)")
    else:
        print(
            f"{args.output}: {len(result.pages)} page(s) updated; serve it and use "
            f"--index-url <URL>/simple/"
        )
    return 0


def run_merge(args: argparse.Namespace) -> int:
    result = publish_api.merge_indexes(args.paths, args.output, reporter=LineReporter())
    if getattr(args, "quiet", False):
        return 0
    for name in result.variants_json:
        print(f"merged {name}")
    print(f"{args.output}: {len(result.files)} file(s)")
    return 0


__all__ = ["register", "run_build", "run_merge"]
