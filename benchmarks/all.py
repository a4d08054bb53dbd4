#!/usr/bin/env python3
"""Every install/start-up benchmark in one run, and one table against issue 10's targets.

Runs, one after the other (each prints its own table and writes JSON into --out):
  install.py   30 generated wheels from find-links and from an HTTP index, warm and cold, and the
               six-wheel variant package (--only a-files,a-http,b)
  realworld.py 30 real PyPI wheels (downloaded once into benchmarks/.cache/) from a local HTTP
               index: warm, cold, no-op
  noop.py      the 30 generated wheels again, every requirement satisfied
  startup.py   --version, --help, detect, the import floor
then prints the combined table: per target row varwheel's, uv's and pip's medians, the ratio of
medians (median of per-round ratios), the target, whether it is met, and the command that
reproduces the row. ``--from DIR`` renders the table from the JSON files of an earlier run.

    .venv/bin/python benchmarks/all.py [--samples N] [--only install,realworld,noop,startup]
    .venv/bin/python benchmarks/all.py --from .benchmarks/all   # table only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO, Row, machine, rows_from_json

HERE = Path(__file__).resolve().parent
SCRIPTS = ("install", "realworld", "noop", "startup")
PY = "benchmarks/"  # run with the project's .venv/bin/python


@dataclass(frozen=True)
class Target:
    """One line of the combined table: which row, which ratios, the limits (None: no target)."""

    label: str
    source: str  # the script's JSON (install, realworld, noop, startup)
    title_prefix: str  # the row's title starts with this
    limits: tuple[tuple[str, float | None], ...]  # (peer, max ratio) in the order shown
    command: str
    uv_col: str = "uv"
    pip_col: str = "pip"


TARGETS = (
    Target(
        "warm install, 30 wheels, find-links",
        "install",
        "(a) 30 wheels, local find-links, warm",
        (("uv", 2.0), ("pip", 0.35)),
        PY + "install.py --only a-files",
    ),
    Target(
        "warm install, 30 wheels, HTTP index",
        "install",
        "(a) 30 wheels, HTTP index, warm",
        (("uv", 2.0), ("pip", 0.35)),
        PY + "install.py --only a-http",
    ),
    Target(
        "six-wheel variant package, warm",
        "install",
        "(b) variant package, warm",
        (("uv", 2.0),),
        PY + "install.py --only b",
    ),
    Target(
        "cold install, 30 wheels, find-links",
        "install",
        "(a) 30 wheels, local find-links, cold",
        (("uv", 1.5), ("pip", None)),
        PY + "install.py --only a-files",
    ),
    Target(
        "cold install, 30 wheels, HTTP index",
        "install",
        "(a) 30 wheels, HTTP index, cold",
        (("uv", 1.5), ("pip", None)),
        PY + "install.py --only a-http",
    ),
    Target(
        "cold install, six-wheel variant package",
        "install",
        "(b) variant package, cold",
        (("uv", 1.5),),
        PY + "install.py --only b",
    ),
    Target(
        "real world, 30 PyPI wheels, HTTP index, warm",
        "realworld",
        "real world: 30 PyPI wheels, local HTTP index, warm",
        (("uv", None), ("pip", None)),
        PY + "realworld.py --only warm",
    ),
    Target(
        "real world, 30 PyPI wheels, HTTP index, cold",
        "realworld",
        "real world: 30 PyPI wheels, local HTTP index, cold",
        (("uv", 1.5), ("pip", None)),
        PY + "realworld.py --only cold",
    ),
    Target(
        "no-op install, 30 wheels, find-links",
        "noop",
        "no-op: 30 wheels",
        (("uv", 1.5), ("pip", None)),
        PY + "noop.py",
    ),
    Target(
        "no-op install, 30 PyPI wheels, HTTP index",
        "realworld",
        "real world: 30 PyPI wheels, local HTTP index, no-op",
        (("uv", 1.5), ("pip", None)),
        PY + "realworld.py --only noop",
    ),
    Target(
        "`varwheel --version` (uv, pip: their `--version`)",
        "startup",
        "start-up: --version",
        (("python -c pass", 2.0),),
        PY + "startup.py --only version",
        uv_col="uv --version",
        pip_col="pip --version",
    ),
    Target(
        "`varwheel --help` (uv, pip: their `--help`)",
        "startup",
        "start-up: --help",
        (("pip --help", None),),
        PY + "startup.py --only help",
        uv_col="uv --help",
        pip_col="pip --help",
    ),
    Target(
        "`varwheel detect --json`, provider cache filled",
        "startup",
        "varwheel detect",
        (("python -c pass", None),),
        PY + "startup.py --only detect",
        uv_col="-",
        pip_col="-",
    ),
    Target(
        "import floor: python + packaging, installer, resolvelib and stdlib (no varwheel code)",
        "startup",
        "import floor",
        (("python -c pass", None),),
        PY + "startup.py --only floor",
        uv_col="-",
        pip_col="-",
    ),
)


def install_rows(path: Path) -> list[Row]:
    """install.py's JSON (a list of results) as rows titled "<workload>, warm|cold"."""
    out = []
    for doc in json.loads(path.read_text()):
        title = str(doc["title"])
        if title.startswith("(a) 30 wheels, HTTP index"):
            title = "(a) 30 wheels, HTTP index"  # without the port of that run
        elif title.startswith("(b)"):
            title = "(b) variant package"
        elif title.startswith("(noop)"):
            title = "(noop) 30 wheels"
        title += ", cold" if doc.get("cold") else ", warm"
        out.append(
            Row(
                title=title,
                subject="varwheel",
                medians=dict(doc["median_s"]),
                ratios=dict(doc.get("ratios", {})),
                samples=dict(doc.get("samples_s", {})),
            )
        )
    return out


def load(out: Path) -> dict[str, list[Row]]:
    """The rows of every script whose JSON is in ``out``."""
    found: dict[str, list[Row]] = {}
    for name in SCRIPTS:
        path = out / f"{name}.json"
        if path.exists():
            found[name] = install_rows(path) if name == "install" else rows_from_json(path)
    return found


def _peer(name: str) -> str:
    """uv, pip, or a command in backticks."""
    return name.removesuffix(" --help") if name in {"uv", "pip", "pip --help"} else f"`{name}`"


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def combined(rows: Mapping[str, list[Row]]) -> tuple[str, list[dict[str, object]]]:
    """The markdown table against the targets, and the same as records (for JSON)."""
    lines = [
        "| row | varwheel s | uv s | pip s | ratio (varwheel / peer) | target | met? | reproduce |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    records: list[dict[str, object]] = []
    for target in TARGETS:
        row = next(
            (r for r in rows.get(target.source, []) if r.title.startswith(target.title_prefix)),
            None,
        )
        if row is None:
            continue
        subject = row.medians.get(row.subject)
        ratios, goals, met = [], [], []
        for peer, limit in target.limits:
            ratio = row.ratios.get(peer)
            if ratio is None:
                ratios.append(f"{peer}: not measured")
                if limit is not None:
                    goals.append(f"≤ {limit:g}× {_peer(peer)}")
                    met.append("n/a")
                continue
            ratios.append(f"{ratio:.2f}× {_peer(peer)}")
            if limit is not None:
                goals.append(f"≤ {limit:g}× {_peer(peer)}")
                met.append("yes" if ratio <= limit else "no")
        record = {
            "row": target.label,
            "varwheel_s": subject,
            "uv_s": row.medians.get(target.uv_col),
            "pip_s": row.medians.get(target.pip_col),
            "ratios": {p: row.ratios.get(p) for p, _ in target.limits},
            "targets": {p: lim for p, lim in target.limits if lim is not None},
            "met": met,
            "command": target.command,
        }
        records.append(record)
        lines.append(
            f"| {target.label} | {_fmt(subject)} | {_fmt(record['uv_s'])} "  # type: ignore[arg-type]
            f"| {_fmt(record['pip_s'])} | {'; '.join(ratios)} "  # type: ignore[arg-type]
            f"| {'; '.join(goals) or '(none)'} | {' / '.join(met) or '—'} | `{target.command}` |"
        )
    return "\n".join(lines), records


def run_scripts(
    scripts: Sequence[str], out: Path, samples: int | None, tools: str | None
) -> list[str]:
    """Run each script with --json into ``out``; returns the names of those that failed."""
    failed = []
    for name in scripts:
        argv = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out / f"{name}.json")]
        if name == "install":
            argv += ["--only", "a-files,a-http,b"]
        if samples is not None:
            argv += ["--samples", str(samples)]
        if tools is not None and name != "startup":
            argv += ["--tools", tools]
        load = machine()["loadavg_1_5_15"]
        print(f"\n$ {' '.join(argv[1:])}   (load average {load})", flush=True)
        if subprocess.run(argv, check=False).returncode != 0:
            failed.append(name)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(SCRIPTS), help="comma-separated: " + ", ".join(SCRIPTS)
    )
    parser.add_argument("--samples", type=int, help="timed rounds for every script")
    parser.add_argument(
        "--tools",
        default="varwheel,uv,pip",
        help="install tools (install.py's names; default varwheel,uv,pip)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / ".benchmarks" / "all",
        help="directory for each script's JSON (default .benchmarks/all, git-ignored)",
    )
    parser.add_argument(
        "--from", dest="from_dir", type=Path, help="only render the table from this directory"
    )
    parser.add_argument("--json", type=Path, help="also write the combined table as JSON")
    args = parser.parse_args(argv)
    scripts = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in scripts if s not in SCRIPTS]
    if unknown:
        parser.error(f"unknown script(s) {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}")
    failed: list[str] = []
    if args.from_dir is None:
        args.out.mkdir(parents=True, exist_ok=True)
        for name in scripts:  # no stale rows from an earlier run
            (args.out / f"{name}.json").unlink(missing_ok=True)
        failed = run_scripts(scripts, args.out, args.samples, args.tools)
    source = args.from_dir or args.out
    table, records = combined(load(source))
    m = machine()
    print(
        f"\n== issue 10 targets ({m['cpus']} cpus, Python {m['python']}, "
        f"load average now {m['loadavg_1_5_15']}; ratios are medians of per-round ratios)"
    )
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": m, "rows": records}, indent=2) + "\n")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
