#!/usr/bin/env python3
"""Rank N variants x S supported properties: varwheel against variantlib 0.2.2 in the same run.

Workload (mirrors ../shared/bench/w1_selection.py, perf-anchors.md W1): a generated schema v0.2.0
``*-variants.json`` whose providers all use ``static-properties`` + ``feature-order`` (no plugin
runs); S = namespaces x features x values; each variant uses 1-2 namespaces, 1-3 features per
namespace, one value per feature (15 % two), 10 % of features use a value outside
static-properties. Cases (N, S): (100, 50), (1000, 400), (10000, 400).

Timed with ``time.perf_counter`` (and ``time.process_time``) after one warm-up, steps interleaved inside every repetition
(so a slow spell of the machine hits all alike), medians reported:
  rank      varwheel effective_support + order_variants on loaded metadata, against variantlib
            sort_and_filter_supported_variants on its prebuilt descriptions and supported list
            (its filter + sort, including the abi_dependency scan it always does)
  select    the whole call from the parsed JSON dict: varwheel load_variants_json + rank, against
            variantlib get_variants_by_priority(variants_json=dict)
  calib     a fixed pure-Python loop, the machine's speed at that moment
Both must return the same labels in the same order. Exits 0.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from varwheel.spec.metadata import load_variants_json
from varwheel.spec.model import SCHEMA_V0_2_0, VariantMetadata
from varwheel.spec.ordering import order_variants
from varwheel.spec.selection import SupportedProperties, effective_support

CASES = [  # (N variants, namespaces, features per namespace, values per feature, repetitions)
    (100, 2, 5, 5, 51),
    (1000, 4, 10, 10, 21),
    (10000, 4, 10, 10, 7),
]
TARGET_ENV = {"platform_system": "Linux", "platform_machine": "x86_64", "sys_platform": "linux"}
NO_SUPPORT = SupportedProperties({})


def calib() -> int:
    total = 0
    for i in range(300_000):
        total += i * i
    return total


def generate(n: int, nns: int, nf: int, nv: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    namespaces = [f"ns{i}" for i in range(nns)]
    features = [f"f{i}" for i in range(nf)]
    values = [f"v{i}" for i in range(nv)]
    providers = {
        ns: {"static-properties": {f: list(values) for f in features}, "feature-order": features}
        for ns in namespaces
    }
    variants: dict[str, Any] = {}
    seen: set[str] = set()
    while len(variants) < n:
        desc: dict[str, dict[str, list[str]]] = {}
        for ns in rng.sample(namespaces, rng.choice((1, 1, 2))):
            chosen: dict[str, list[str]] = {}
            for f in rng.sample(features, rng.randint(1, 3)):
                vals = ["x0"] if rng.random() < 0.10 else [rng.choice(values)]
                if rng.random() < 0.15:
                    vals = sorted({*vals, rng.choice(values)})
                chosen[f] = vals
            desc[ns] = chosen
        key = json.dumps(desc, sort_keys=True)
        if key not in seen:
            seen.add(key)
            variants[f"l{len(variants):05d}"] = desc
    return {
        "$schema": SCHEMA_V0_2_0,
        "default-priorities": {"namespace": namespaces},
        "providers": providers,
        "variants": variants,
    }


def varwheel_rank(md: VariantMetadata) -> list[str]:
    support = effective_support(md, NO_SUPPORT, marker_env=TARGET_ENV)
    return list(order_variants(md, support).labels)


def varwheel_select(doc: dict[str, Any]) -> list[str]:
    return varwheel_rank(load_variants_json(doc))


class Variantlib:
    """variantlib 0.2.2's two entry points on the same document."""

    def __init__(self) -> None:
        from variantlib.api import get_variants_by_priority
        from variantlib.resolver.lib import sort_and_filter_supported_variants
        from variantlib.variants_json import VariantsJson

        self.select_fn = get_variants_by_priority
        self.sort_fn = sort_and_filter_supported_variants
        self.parse = VariantsJson

    def prepare(self, doc: dict[str, Any]) -> Callable[[], list[str]]:
        from variantlib.models.variant import VariantProperty

        vj = self.parse(json.loads(json.dumps(doc)))
        order = {ns: p.feature_order for ns, p in vj.providers.items()}
        supported = [
            VariantProperty(ns, f, v)
            for ns, p in vj.providers.items()
            for f in p.feature_order
            for v in p.static_properties[f]
        ]
        descs = list(vj.variants.values())

        def rank() -> list[str]:
            ranked = self.sort_fn(
                list(descs),
                supported,
                namespace_priorities=list(vj.namespace_priorities),
                feature_priorities=order,
                filter_values=True,
            )
            return [d.label for d in ranked]

        return rank

    def select(self, doc: dict[str, Any]) -> list[str]:
        return [d.label for d in self.select_fn(variants_json=doc)]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


class Timings:
    """Wall-clock and CPU samples per step."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(self, step: str, fn: Callable[[], object]) -> None:
        w, c = time.perf_counter(), time.process_time()
        fn()
        self.cpu.setdefault(step, []).append(time.process_time() - c)
        self.wall.setdefault(step, []).append(time.perf_counter() - w)

    def ratio(self, ours: str, theirs: str, clock: str = "wall") -> float:
        samples = self.wall if clock == "wall" else self.cpu
        if theirs not in samples:
            return float("nan")
        return median_ms(samples[ours]) / median_ms(samples[theirs])


def run_case(vl: Variantlib | None, n: int, nns: int, nf: int, nv: int, reps: int) -> None:
    s = nns * nf * nv
    text = json.dumps(generate(n, nns, nf, nv, seed=n * 1000 + s))
    md = load_variants_json(json.loads(text))
    ours = varwheel_rank(md)  # warm-up, and the answer both must give
    assert varwheel_select(json.loads(text)) == ours
    vl_rank = vl.prepare(json.loads(text)) if vl else None
    if vl is not None and vl_rank is not None:
        assert vl_rank() == ours, f"variantlib ranks the N={n} document differently"
        assert vl.select(json.loads(text)) == ours
    t = Timings()
    for _ in range(reps):
        t.time("varwheel rank", partial(varwheel_rank, md))
        if vl is not None and vl_rank is not None:
            t.time("variantlib rank", vl_rank)
        t.time("varwheel select", partial(varwheel_select, json.loads(text)))
        if vl is not None:
            t.time("variantlib select", partial(vl.select, json.loads(text)))
        t.time("calib", calib)
    for step in ("rank", "select"):
        ours_ms = median_ms(t.wall[f"varwheel {step}"])
        theirs = t.wall.get(f"variantlib {step}")
        theirs_ms = median_ms(theirs) if theirs else float("nan")
        print(
            f"{n:>6} {s:>4} {reps:>4} | {step:<6} | {ours_ms:11.2f} | {theirs_ms:13.2f} | "
            f"{t.ratio(f'varwheel {step}', f'variantlib {step}'):6.3f} | "
            f"{t.ratio(f'varwheel {step}', f'variantlib {step}', 'cpu'):9.3f} | "
            f"{len(ours):>5} | {median_ms(t.wall['calib']):8.1f}"
        )


def run() -> int:
    logging.getLogger("variantlib").setLevel(logging.WARNING)
    try:
        vl: Variantlib | None = Variantlib()
        vl_version = importlib.metadata.version("variantlib")
    except ImportError:
        vl, vl_version = None, "not installed"
    print(
        f"rank benchmark: varwheel vs variantlib {vl_version}, python {sys.version.split()[0]}, "
        f"{len(list(importlib.metadata.distributions()))} distributions visible"
    )
    header = (
        f"{'N':>6} {'S':>4} {'reps':>4} | {'step':<6} | {'varwheel ms':>11} | "
        f"{'variantlib ms':>13} | {'ratio':>6} | {'cpu ratio':>9} | {'kept':>5} | {'calib ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for case in CASES:
        run_case(vl, *case)
    print(
        "ms = wall-clock medians; ratio = varwheel / variantlib (lower is better, target <= 0.1 "
        "for rank at 1000 x 400);\ncpu ratio = the same from process CPU time (steadier on a "
        "busy machine); kept = variants ranked, null included; calib = fixed loop (~14 ms quiet)."
    )
    return 0


if __name__ == "__main__":
    # variantlib reads ./variants.toml; run from an empty directory so only the document decides.
    with tempfile.TemporaryDirectory() as empty:
        os.chdir(empty)
        sys.exit(run())
