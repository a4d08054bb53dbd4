#!/usr/bin/env python3
"""Metadata core on ~10 MB generated ``*-variants.json`` files (issue 7: linear-time validation).

Documents (``tests/spec/big_variants.py``, fixed seed):
  wide     schema v0.2.0, 20 000 labels over four static providers of 4 x 3 000 values, a plugin
  legacy   the same in the PEP 817 v0.0.3 shape (top-level static-properties, priorities)
  many     schema v0.2.0, 24 000 labels over short static lists (20 values per feature)
  dense-1mb / dense-10mb  compact JSON, one static feature of 10 000 values, 34 000 / 300 000
           labels of one value each (the shape of the issue's 1.26 MB file that took 31 s)
Steps, each timed with ``time.perf_counter`` and ``time.process_time`` (medians of ``--reps``, one
run when a step takes longer than 10 s; compare CPU seconds on a busy machine):
  load     bytes -> ``load_variants_json`` (JSON parse, model, validate, lint): "validates"
  convert  ``to_v0_2_0`` (what ``varwheel inspect`` adds)
  dump     ``dump_json`` (canonical bytes, re-validated)
  merge    ``merge_metadata`` of the two halves of the labels
  rank     ``effective_support`` + ``order_variants`` (what ``varwheel explain`` adds)
  select   ``select_wheels`` over one wheel per label
Usage: ``python benchmarks/spec_big.py [--reps N] [--only wide,legacy,many]``. Exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.tags import sys_tags

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "spec"))

from big_variants import dump, dump_compact, make_dense_document, make_document  # noqa: E402

from varwheel.spec.compat import SupportedProperties, effective_support  # noqa: E402
from varwheel.spec.filenames import parse_wheel_filename  # noqa: E402
from varwheel.spec.merge import merge_metadata  # noqa: E402
from varwheel.spec.metadata import dump_json, load_variants_json, to_v0_2_0  # noqa: E402
from varwheel.spec.ordering import order_variants  # noqa: E402
from varwheel.spec.selection import select_wheels  # noqa: E402

SHAPES: dict[str, dict[str, Any]] = {
    "wide": {"labels": 20000, "values": 3000, "legacy": False},
    "legacy": {"labels": 20000, "values": 3000, "legacy": True},
    "many": {"labels": 24000, "values": 20, "legacy": False},
    # compact JSON: one static feature of 10 000 values, one value per label
    "dense-1mb": {"labels": 34000, "values": 10000, "dense": True},
    "dense-10mb": {"labels": 300000, "values": 10000, "dense": True},
}


def _time(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """Median wall and CPU seconds (CPU time is what to compare on a shared machine)."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if wall[-1] > 10:
            break
    return statistics.median(wall), statistics.median(cpu)


def run(shape: str, reps: int) -> None:
    params = dict(SHAPES[shape])
    if params.pop("dense", False):
        data = dump_compact(make_dense_document(**params))
    else:
        data = dump(make_document(**params))
    md = load_variants_json(data)
    labels = sorted(md.variants)
    halves = [
        replace(md, variants={lbl: md.variants[lbl] for lbl in part}, source=f"half{i}")
        for i, part in enumerate((labels[::2], labels[1::2]))
    ]
    detected = SupportedProperties({"p0": {"f0": tuple(f"x{i}" for i in range(0, 12000, 2))}})
    env = {"python_version": "3.12"}
    wheels = [parse_wheel_filename(f"big-1.0-py3-none-any-{lbl}.whl") for lbl in labels]
    tags = list(sys_tags())
    support = effective_support(md, detected, marker_env=env)
    steps: dict[str, Callable[[], object]] = {
        "load": lambda: load_variants_json(data),
        "convert": lambda: to_v0_2_0(md),
        "dump": lambda: dump_json(md),
        "merge": lambda: merge_metadata(halves),
        "rank": lambda: order_variants(md, effective_support(md, detected, marker_env=env)),
        "select": lambda: select_wheels(wheels, md, support, tags),
    }
    print(f"{shape}: {len(data) / 1e6:.1f} MB, {len(labels)} labels", flush=True)
    for name, fn in steps.items():
        wall, cpu = _time(fn, reps)
        print(f"  {name:8s} {wall:7.3f} s wall {cpu:7.3f} s cpu", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default="wide,legacy,many,dense-10mb")
    args = parser.parse_args()
    for shape in args.only.split(","):
        run(shape, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
