#!/usr/bin/env python3
"""Start-up and detect benchmark: short whole-process commands, side by side, medians and ratios.

Rows (each command a fresh process; interleaved rounds after warm-up; seconds):
  version   ``varwheel --version`` vs ``python -c pass`` (the target: <= 2x), ``uv --version`` and
            ``pip --version`` for context;
  help      ``varwheel --help`` vs ``pip --help`` and ``uv --help``;
  detect    ``varwheel detect --json`` with its provider cache filled, vs ``python -c pass`` and
            ``varwheel detect --json --no-cache``; ``variantlib analyze-platform`` (0.2.2) only
            as context: with no provider plugin installed it queries nothing, so it is not the
            same work (no target; benchmarks/detect.py compares the in-process provider calls);
  floor     ``python -c "import <LIBRARIES>"``: the interpreter and the libraries (packaging,
            installer, resolvelib and the stdlib modules) every install loads before any
            varwheel code, vs ``python -c pass``; what no change to varwheel can go below.
A peer that is missing (uv other than 0.13.9, no variantlib, no pip) is left out with a note.
varwheel's modules are byte-compiled first, as an installed (not editable) varwheel's are.

    .venv/bin/python benchmarks/startup.py [--samples 21] [--only version,help,detect] [--json F]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BIN,
    BenchmarkError,
    Row,
    find_uv,
    measure,
    pip_version,
    print_header,
    render,
    timed,
    write_json,
)

PARTS = ("version", "help", "detect", "floor")

#: what a warm install imports that is not varwheel's (python -X importtime of one)
LIBRARIES = (
    "packaging.requirements, packaging.specifiers, packaging.tags, installer, resolvelib, "
    "dataclasses, argparse, pathlib, json, hashlib, zipfile, concurrent.futures"
)


def bench_env(tmp: Path) -> dict[str, str]:
    """The user's environment without tool configuration, with varwheel's cache and config in
    ``tmp`` (PYTHONDONTWRITEBYTECODE is dropped: real installs have bytecode)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "VARWHEEL_", "PYTHONDONTWRITEBYTECODE"))
    }
    config = tmp / "config.toml"
    config.write_text("")
    env.update(
        VARWHEEL_CACHE_DIR=str(tmp / "cache"),
        VARWHEEL_CONFIG=str(config),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(tmp / "uv-cache"),
    )
    return env


def commands(part: str, python: str) -> dict[str, list[str]]:
    """The argvs of one row, subject first; peers that are missing are left out."""
    uv = find_uv()
    has_pip = pip_version(Path(python)) is not None
    varwheel = str(BIN / "varwheel")
    out: dict[str, list[str]] = {}
    if part == "version":
        out["varwheel --version"] = [varwheel, "--version"]
        out["python -c pass"] = [python, "-c", "pass"]
        if uv:
            out["uv --version"] = [str(uv), "--version"]
        if has_pip:
            out["pip --version"] = [python, "-m", "pip", "--version"]
    elif part == "help":
        out["varwheel --help"] = [varwheel, "--help"]
        if has_pip:
            out["pip --help"] = [python, "-m", "pip", "--help"]
        if uv:
            out["uv --help"] = [str(uv), "--help"]
    elif part == "detect":
        out["varwheel detect --json"] = [varwheel, "detect", "--json"]
        out["python -c pass"] = [python, "-c", "pass"]
        out["varwheel detect --json --no-cache"] = [varwheel, "detect", "--json", "--no-cache"]
        if (BIN / "variantlib").exists():
            out["variantlib analyze-platform"] = [str(BIN / "variantlib"), "analyze-platform"]
    elif part == "floor":
        out["python + the libraries an install imports"] = [python, "-c", f"import {LIBRARIES}"]
        out["python -c pass"] = [python, "-c", "pass"]
    else:
        raise ValueError(f"unknown part {part!r} (one of {', '.join(PARTS)})")
    return out


TITLES = {
    "version": "start-up: --version",
    "help": "start-up: --help",
    "detect": "varwheel detect (provider cache filled)",
    "floor": "import floor (no varwheel code)",
}


def run(parts: Sequence[str], *, samples: int, warmup: int, python: str) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="varwheel-bench-startup-") as tmp:
        env = bench_env(Path(tmp))
        for part in parts:
            argvs = commands(part, python)
            steps = {name: partial(timed, argv, env) for name, argv in argvs.items()}
            note = (
                "variantlib analyze-platform: no plugin installed, context only"
                if "variantlib analyze-platform" in argvs
                else ""
            )
            rows.append(measure(TITLES[part], steps, samples=samples, warmup=warmup, note=note))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=21, help="timed rounds (default 21)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    parser.add_argument(
        "--only", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS)
    )
    parser.add_argument("--json", type=Path, help="also write the rows here as JSON")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    import varwheel

    # Like an installed (not editable) varwheel: its modules have bytecode.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(varwheel.__file__).parent)], check=True
    )
    print_header("start-up benchmark", f"{args.samples} runs + {args.warmup} warm-up per command")
    try:
        rows = run(parts, samples=args.samples, warmup=args.warmup, python=sys.executable)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(rows))
    for row in rows:
        if row.note:
            print(f"note ({row.title}): {row.note}")
    if args.json:
        write_json(args.json, rows, {"script": "startup"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
