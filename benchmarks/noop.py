#!/usr/bin/env python3
"""No-op install benchmark: every requirement already satisfied; varwheel vs uv 0.13.9 vs pip 26.3.

Workload: benchmarks/install.py's 30 generated inter-dependent wheels (no network at all), all 30
named again from a local --find-links directory into a venv where the same tool already installed
them (pip's "Requirement already satisfied"). Each tool gets its own venv (a copy of the template
venv with pip 26.3), installed once outside the timing; then the same command is timed in
interleaved rounds. Target (issue 10): varwheel <= 1.5x uv. realworld.py has the same row on
real PyPI wheels over HTTP.

    .venv/bin/python benchmarks/noop.py [--samples 11] [--tools varwheel,uv,pip] [--json F]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BenchmarkError, InstallTool, Row, print_header, render, write_json
from realworld import noop_row, select_tools, workdir

TITLE = "no-op: 30 wheels already installed, find-links"


def run(tools: Sequence[InstallTool], *, samples: int, warmup: int, work: Path, n: int = 30) -> Row:
    import install

    wheels = work / "wheels"
    names = install.make_plain_wheels(wheels, n)

    def check(venv: Path) -> str | None:
        site = next((venv / "lib").glob("python*/site-packages"))
        got = len(list(site.glob("vwbpkg_*.dist-info")))
        return None if got == len(names) else f"installed {got} of the {len(names)} wheels"

    args = ["--no-index", "--find-links", str(wheels), *names]
    return noop_row(
        TITLE if n == 30 else f"no-op: {n} wheels already installed, find-links",
        tools,
        {t.name: args for t in tools},
        check=check,
        samples=samples,
        warmup=warmup,
        work=work,
        template=install.template_venv(),
        env=install.clean_env(work),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=11, help="timed rounds (default 11)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--wheels", type=int, default=30, help="how many wheels (default 30)")
    parser.add_argument("--tools", default="varwheel,uv,pip", help="comma-separated (install.py's)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--json", type=Path, help="also write the row here as JSON")
    args = parser.parse_args(argv)
    tools = select_tools(args.tools)
    import varwheel

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(varwheel.__file__).parent)], check=True
    )
    print_header("no-op install benchmark", f"{args.samples} runs + {args.warmup} warm-up")
    try:
        with workdir(args.keep) as work:
            row = run(tools, samples=args.samples, warmup=args.warmup, work=work, n=args.wheels)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render([row]))
    if args.json:
        write_json(args.json, [row], {"script": "noop"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
