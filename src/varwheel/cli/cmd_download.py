"""``varwheel download REQ... -d DIR``: the wheels a target would get, into a directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from varwheel.cli import exitcodes
from varwheel.cli.selection_options import (
    add_requirement_file_argument,
    add_selection_arguments,
    flags_from_args,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download the wheels a target would get into a directory, hash-checked",
        description="Resolve as install does and put the chosen file of every package into a "
        "directory, without installing: the wheel (variant or not) this machine would get, or "
        "another machine's with --profile and --platform/--python-version/--implementation/"
        "--abi (a profile written by `varwheel detect --output` describes one whole machine). "
        "Each file is hash-checked and moved in whole; a project without a wheel for the target "
        "gets its sdist, as pip's download.",
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ")
    add_requirement_file_argument(parser, help="download what a requirements file names")
    parser.add_argument(
        "-c",
        "--constraint",
        dest="constraint_files",
        action="append",
        default=[],
        metavar="FILE",
        help="narrow versions with a constraints file (repeatable)",
    )
    parser.add_argument(
        "-d",
        "--dest",
        dest="dest",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="directory to put the files in (created if missing; default: .)",
    )
    parser.add_argument("--no-deps", action="store_true", help="only the named packages")
    parser.add_argument(
        "--require-hashes",
        action="store_true",
        help="every requirement pinned with == and given --hash values (pip's mode)",
    )
    parser.add_argument("--json", action="store_true", help="print the files as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    add_selection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from varwheel import api
    from varwheel.api import download as api_download
    from varwheel.cli.main import printable
    from varwheel.cli.plain import make_console
    from varwheel.cli.render import ConsoleReporter

    reqs = api.read_requirements(
        args.requirements, files=args.requirement_files, constraint_files=args.constraint_files
    )
    settings = api.Settings.load(flags_from_args(args), requirements=reqs.options)
    console = make_console(stderr=True, quiet=args.quiet, highlight=False, soft_wrap=True)
    reporter = ConsoleReporter(console, quiet=args.quiet)
    # the target: --python's interpreter (else this one), with the cross options and profile
    env = api.find_environment(settings, access=api.Access.INSPECT, reporter=reporter)
    target = api.target_for(settings, env)
    result = api_download.download(reqs, settings, target, args.dest, reporter=reporter)
    if args.json:
        doc = {"directory": str(result.directory), "files": [f.to_json() for f in result.files]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif not args.quiet:
        for f in result.files:
            what = (
                f"variant {f.variant_label}" if f.variant_label else "sdist" if f.is_sdist else ""
            )
            note = " (already there)" if f.already_there else ""
            extra = f" [{what}]" if what else ""
            print(printable(f"Saved {f.path}{extra}{note}"))
    return exitcodes.OK
