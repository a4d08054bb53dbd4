"""Metadata loading, validation, lint, conversion, merge and ranking stay linear in the document.

No wall-clock assertion (the machine is shared): the big document is checked for correctness, and
linearity is checked by counting the work that used to be repeated per label (a pass over every
variant, a scan of a static value list, a lookup of the supported values). The timings live in
``benchmarks/spec_big.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from big_variants import dump, make_document

from varwheel.spec.compat import SupportedProperties, effective_support, first_failure
from varwheel.spec.merge import merge_metadata
from varwheel.spec.metadata import load_variants_json, to_v0_2_0
from varwheel.spec.model import ProviderInfo, SchemaGeneration, VariantMetadata
from varwheel.spec.ordering import order_variants
from varwheel.spec.properties import VariantProperty, group_by_feature
from varwheel.spec.validation import lint, validate


def _tree(props: tuple[VariantProperty, ...]) -> dict[str, dict[str, list[str]]]:
    tree: dict[str, dict[str, list[str]]] = {}
    for p in props:
        tree.setdefault(p.namespace, {}).setdefault(p.feature, []).append(p.value)
    return {ns: {f: sorted(v) for f, v in fs.items()} for ns, fs in tree.items()}


def _naive_lint_count(md: VariantMetadata) -> int:
    """The lint rules spelled out directly (the reference for the set-based implementation)."""
    count = 0
    for _, props in md.variants.items():
        for (ns, feature), values in group_by_feature(props).items():
            info = md.providers.get(ns)
            if info is None or info.static_properties is None:
                continue
            static = info.static_properties.get(feature)
            if static is None:
                count += 1
                continue
            count += all(v not in static for v in values)
            count += len(values) > 1
    return count


Big = tuple[dict[str, Any], VariantMetadata]


@pytest.fixture(scope="module")
def big() -> Big:
    doc = make_document(20000, values=3000)
    data = dump(doc)
    assert len(data) > 9_000_000  # ~10 MB: thousands of labels over long static value lists
    return doc, load_variants_json(data, source="big-1.0-variants.json")


def test_big_document_loads_exactly(big: Big) -> None:
    doc, md = big
    assert set(md.variants) == set(doc["variants"])
    for label, tree in doc["variants"].items():
        assert _tree(md.variants[label]) == tree
    assert md.providers["s0"].static_properties is not None
    assert md.providers["s0"].static_properties["f0"] == tuple(
        doc["providers"]["s0"]["static-properties"]["f0"]
    )
    lint_findings = [w for w in md.warnings if w.startswith("variants.")]
    assert len(lint_findings) == _naive_lint_count(md) > 0


def test_big_document_converts_and_merges(big: Big) -> None:
    doc, md = big
    written = to_v0_2_0(md).document
    assert written["variants"] == doc["variants"]
    assert written["providers"] == doc["providers"]
    labels = sorted(md.variants)
    halves = [
        replace(md, variants={lbl: md.variants[lbl] for lbl in part}, source=f"half{i}")
        for i, part in enumerate((labels[::2], labels[1::2]))
    ]
    merged = merge_metadata(halves)
    assert merged.variants == md.variants
    assert merged.source == "half0, half1"


def test_big_pep817_document_converts() -> None:
    legacy = make_document(3000, values=2000, legacy=True)
    legacy["variants"]["00000000"] = {}  # a pre-PEP 825 null label, as torch 2.8.0 publishes
    md = load_variants_json(json.dumps(legacy))
    assert md.generation is SchemaGeneration.PEP817
    assert md.legacy_null_labels == frozenset({"00000000"})
    conv = to_v0_2_0(md)
    f0 = conv.document["providers"]["s0"]["static-properties"]["f0"]
    prio = legacy["default-priorities"]["property"]["s0"]["f0"]
    # PEP 817 property priorities folded first, then the static order (spec-digest §6.4 step 3)
    assert f0[: len(prio)] == prio
    assert sorted(f0) == sorted(legacy["static-properties"]["s0"]["f0"])
    assert "00000000" not in conv.document["variants"]
    assert conv.document["variants"]["null"] == {}


def test_big_document_ranks_every_label(big: Big) -> None:
    _, md = big
    detected = SupportedProperties({"p0": {"f0": tuple(f"x{i}" for i in range(0, 8000, 2))}})
    support = effective_support(md, detected, marker_env={"python_version": "3.12"})
    ranking = order_variants(md, support)
    ranked = {rv.label for rv in ranking.ranked}
    rejected = {rv.label for rv in ranking.rejected}
    assert ranked | rejected == set(md.variants) and not ranked & rejected
    assert ranking.ranked[-1].label == "null"
    for rv in ranking.rejected:
        assert first_failure(md.variants[rv.label], support) is not None
    for rv in ranking.ranked:
        assert first_failure(rv.properties, support) is None


# --------------------------------------------------------------------------- work counting


class _CountingValues(tuple):  # type: ignore[type-arg]
    """A static value list that counts the elements membership tests walk through."""

    walked = 0

    def __contains__(self, item: object) -> bool:
        type(self).walked += len(self)
        return tuple.__contains__(self, item)

    def __iter__(self) -> Iterator[Any]:
        type(self).walked += len(self)
        return tuple.__iter__(self)


class _CountingVariants(dict):  # type: ignore[type-arg]
    """``variants`` that counts full passes over it."""

    passes = 0

    def items(self):  # type: ignore[no-untyped-def]
        type(self).passes += 1
        return super().items()

    def __iter__(self) -> Iterator[Any]:
        type(self).passes += 1
        return super().__iter__()


def _static_md(labels: int, values: int) -> VariantMetadata:
    static = _CountingValues(f"v{i}" for i in range(values))
    variants = {
        f"l{i}": (VariantProperty("s", "f", f"v{(i * 7) % values}"),) for i in range(labels)
    }
    variants["null"] = ()
    return VariantMetadata(
        namespace_priorities=("s",),
        providers={"s": ProviderInfo("s", static_properties={"f": static})},
        variants=_CountingVariants(variants),
    )


@pytest.mark.parametrize("labels", [200, 2000])
def test_lint_walks_each_static_list_once(labels: int) -> None:
    md = _static_md(labels, 1000)
    _CountingValues.walked = 0
    assert lint(md) == ()
    # was labels x values (every variant scanned the whole static tuple)
    assert _CountingValues.walked <= 2 * 1000


@pytest.mark.parametrize("labels", [200, 2000])
def test_conversion_passes_over_variants_a_bounded_number_of_times(labels: int) -> None:
    md = _static_md(labels, 50)
    validate(md, kind="variants.json")
    _CountingVariants.passes = 0
    to_v0_2_0(md)
    lint(md)
    # was one pass per label (legacy null labels recomputed for every variant)
    assert _CountingVariants.passes <= 6


def test_rejections_look_up_supported_values_once_per_feature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variants = {f"l{i}": (VariantProperty("p", "f", f"x{i}"),) for i in range(3000)}
    md = VariantMetadata(
        namespace_priorities=("p",),
        providers={"p": ProviderInfo("p", requires=("provider-p",))},
        variants=variants,
    )
    support = SupportedProperties({"p": {"f": tuple(f"y{i}" for i in range(3000))}})
    calls = 0
    original = SupportedProperties.values

    def counting(self: SupportedProperties, namespace: str, feature: str) -> tuple[str, ...]:
        nonlocal calls
        calls += 1
        return original(self, namespace, feature)

    monkeypatch.setattr(SupportedProperties, "values", counting)
    ranking = order_variants(md, support)
    assert len(ranking.rejected) == 3000
    # was one scan of the 3000 supported values per rejected variant
    assert calls <= 3
