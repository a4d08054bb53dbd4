"""Generated large ``*-variants.json`` documents (thousands of labels, long static value lists).

Shared by ``tests/spec/test_linear_time.py`` (correctness on a big input) and
``benchmarks/spec_big.py`` (timings). The shape is the one that made validation quadratic:
static providers whose features list thousands of values, and thousands of labels that each use
a few of them (some outside the static lists, so lint and rejection reasons have work to do).
"""

from __future__ import annotations

import json
import random
from typing import Any

from varwheel.spec.model import SCHEMA_V0_2_0
from varwheel.spec.properties import VariantProperty, default_label

PEP817_V0_0_3 = "https://variants-schema.wheelnext.dev/v0.0.3.json"


def make_document(
    labels: int, *, values: int = 3000, legacy: bool = False, seed: int = 0
) -> dict[str, Any]:
    """A valid index-level document with ``labels`` variants (plus ``null``).

    Namespaces ``s0..s3`` are static (four features of ``values`` values each), ``p0`` is an
    install-time plugin provider. ``legacy`` writes the PEP 817 v0.0.3 shape (top-level
    static-properties, default-priorities.feature/property) instead of v0.2.0.
    """
    rng = random.Random(seed)
    statics = {
        f"s{n}": {f"f{k}": [f"v{n}{k}.{i}" for i in range(values)] for k in range(4)}
        for n in range(4)
    }
    namespaces = [*statics, "p0"]
    variants: dict[str, dict[str, dict[str, list[str]]]] = {"null": {}}
    while len(variants) < labels + 1:
        tree: dict[str, dict[str, list[str]]] = {}
        for ns in rng.sample(namespaces, rng.randint(1, 3)):
            for feature in rng.sample(["f0", "f1", "f2", "f3"], rng.randint(1, 3)):
                count = 2 if rng.random() < 0.15 else 1
                if ns == "p0" or rng.random() < 0.1:  # a value outside static-properties
                    vals = [f"x{rng.randrange(values * 4)}" for _ in range(count)]
                else:
                    vals = rng.sample(statics[ns][feature], count)
                tree.setdefault(ns, {})[feature] = sorted(set(vals))
        props = [
            VariantProperty(ns, f, v) for ns, fs in tree.items() for f, vs in fs.items() for v in vs
        ]
        variants[default_label(props)] = tree
    if not legacy:
        providers: dict[str, Any] = {
            ns: {"static-properties": feats, "feature-order": list(feats)}
            for ns, feats in statics.items()
        }
        providers["p0"] = {"requires": ["provider-p0>=1.0; python_version >= '3.9'"]}
        return {
            "$schema": SCHEMA_V0_2_0,
            "default-priorities": {"namespace": namespaces},
            "providers": providers,
            "variants": variants,
        }
    return {
        "$schema": PEP817_V0_0_3,
        "default-priorities": {
            "namespace": namespaces,
            "feature": {ns: list(feats) for ns, feats in statics.items()},
            "property": {
                ns: {f: list(reversed(vals[: values // 2])) for f, vals in feats.items()}
                for ns, feats in statics.items()
            },
        },
        "providers": {
            **{ns: {"install-time": False} for ns in statics},
            "p0": {
                "requires": ["provider-p0>=1.0"],
                "enable-if": "python_version >= '3.9'",
            },
        },
        "static-properties": statics,
        "variants": variants,
    }


def dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=4).encode()


def make_dense_document(labels: int, *, values: int = 10000) -> dict[str, Any]:
    """The shape of the issue's slow file: one static feature listing ``values`` values and
    ``labels`` variants that each use one of them (compact JSON: ~35 bytes a label)."""
    static = [f"v{i}" for i in range(values)]
    variants: dict[str, Any] = {"null": {}}
    for i in range(labels):
        variants[f"l{i}"] = {"s": {"f": [static[(i * 7919) % values]]}}
    return {
        "$schema": SCHEMA_V0_2_0,
        "default-priorities": {"namespace": ["s"]},
        "providers": {"s": {"static-properties": {"f": static}}},
        "variants": variants,
    }


def dump_compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
