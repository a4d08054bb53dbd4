"""Shared parts of the side-by-side benchmarks (realworld.py, noop.py, startup.py, all.py).

Every command is a whole process, timed with ``time.perf_counter`` around ``subprocess.run``.
The commands of one row run in turn (A B C A B C ...) after warm-up rounds, so a slow spell of
the (shared) machine hits them all alike; a row reports each command's median and, for the
subject (the first command), the median of its per-round ratios to each other command.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UV_VERSION = "0.13.9"
PIP_VERSION = "26.3"

#: one timed step: runs the command (and checks it) and returns the seconds it took
Step = Callable[[], float]


class InstallTool(Protocol):
    """What install.py's ``Tool`` gives: ``argv`` with "{V}" (the venv) and "{PY}" (its python)."""

    @property
    def name(self) -> str: ...
    @property
    def argv(self) -> tuple[str, ...]: ...
    @property
    def cold_flags(self) -> tuple[str, ...]: ...
    @property
    def cache_env(self) -> str: ...
    @property
    def extra_env(self) -> tuple[tuple[str, str], ...]: ...


class BenchmarkError(Exception):
    """A timed command failed; the message names it and carries the end of its stderr."""


@dataclass(frozen=True)
class Row:
    """One measured row: medians per command (seconds) and the subject's ratios to the others."""

    title: str
    subject: str
    medians: dict[str, float]
    ratios: dict[str, float]
    samples: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""


def timed(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Run ``argv`` once; return its wall time in seconds, or raise naming the failed command."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv), env=None if env is None else dict(env), capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace")[-1500:]
        raise BenchmarkError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return elapsed


def measure(
    title: str,
    steps: Mapping[str, Step],
    *,
    samples: int,
    warmup: int,
    note: str = "",
) -> Row:
    """Time ``steps`` interleaved; the first step is the subject of the ratios."""
    if samples < 1:
        raise ValueError("samples must be >= 1")
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_no in range(warmup + samples):
        for name, step in steps.items():
            elapsed = step()
            if round_no >= warmup:
                times[name].append(elapsed)
    return make_row(title, times, note=note)


def make_row(title: str, times: Mapping[str, list[float]], *, note: str = "") -> Row:
    """The row of already-collected samples (the first key is the subject)."""
    names = list(times)
    subject = names[0]
    ratios = {
        other: statistics.median(a / b for a, b in zip(times[subject], times[other], strict=True))
        for other in names[1:]
        if times[other]
    }
    return Row(
        title=title,
        subject=subject,
        medians={k: statistics.median(v) for k, v in times.items() if v},
        ratios=ratios,
        samples={k: list(v) for k, v in times.items()},
        note=note,
    )


def render(rows: Sequence[Row]) -> str:
    """A markdown table: one line per command of each row, the subject's ratios after it."""
    lines = ["| row | command | median s | min–max s | ratio |", "|---|---|---:|---:|---|"]
    for row in rows:
        for name, median in row.medians.items():
            got = row.samples.get(name) or [median]
            ratio = (
                ", ".join(f"{r:.2f}× {o}" for o, r in row.ratios.items())
                if name == row.subject
                else ""
            )
            lines.append(
                f"| {row.title} | {name} | {median:.3f} | {min(got):.3f}–{max(got):.3f} | {ratio} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """What the numbers were measured on (the load average says how shared it was)."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_1_5_15": [round(x, 2) for x in load],
    }


def write_json(path: Path, rows: Sequence[Row], extra: Mapping[str, object] | None = None) -> None:
    """Write the rows (with the machine) to ``path`` atomically."""
    doc = {"machine": machine(), **(extra or {}), "rows": [asdict(r) for r in rows]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def rows_from_json(path: Path) -> list[Row]:
    """The rows a script wrote with ``--json``."""
    return [Row(**r) for r in json.loads(path.read_text())["rows"]]


def find_uv() -> Path | None:
    """uv next to this interpreter (or on PATH), only at the pinned version the targets name."""
    for candidate in (BIN / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            out = subprocess.run(
                [str(candidate), "--version"], capture_output=True, text=True, check=False
            )
            if out.stdout.split()[1:2] == [UV_VERSION]:
                return Path(candidate)
    return None


def pip_version(python: Path) -> str | None:
    """The pip version inside ``python``'s environment, or None when it has none (or no python)."""
    if not python.exists():
        return None
    out = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    return out.stdout.split()[1] if out.returncode == 0 and out.stdout.startswith("pip ") else None


def print_header(name: str, rows_note: str = "") -> None:
    m = machine()
    print(
        f"== {name}: {m['cpus']} cpus, Python {m['python']}, load average {m['loadavg_1_5_15']}"
        + (f"; {rows_note}" if rows_note else "")
    )
