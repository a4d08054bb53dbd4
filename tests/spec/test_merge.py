"""Merging variant metadata of one release (PEP 825 §"Metadata consistency", PEP 817 §3.8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varwheel.errors import InvalidMetadata, MergeConflict
from varwheel.spec.merge import merge_metadata
from varwheel.spec.metadata import dump_json, load_variant_json, load_variants_json
from varwheel.spec.model import SCHEMA_V0_2_0, VariantMetadata

V003 = "https://variants-schema.wheelnext.dev/v0.0.3.json"
V011 = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"
VARIANTLIB = "https://variants-schema.wheelnext.dev/v0.2.0.json"

PROVIDERS = {
    "x86_64": {"requires": ["x86-64-variant-provider"]},
    "aarch64": {"requires": ["aarch64-variant-provider"]},
    "blas": {"static-properties": {"library": ["openblas", "mkl"]}},
}


def wheel_md(
    label: str,
    props: dict[str, Any],
    namespaces: list[str],
    source: str,
    schema: str = SCHEMA_V0_2_0,
) -> VariantMetadata:
    doc = {
        "$schema": schema,
        "default-priorities": {"namespace": namespaces},
        "providers": {ns: PROVIDERS[ns] for ns in namespaces},
        "variants": {label: props},
    }
    return load_variant_json(doc, source=source)


def test_buggy_variantlib_conflict_is_refused(variantlib_outputs_dir: Path) -> None:
    """variantlib 0.2.2 wrote conflict-...BUGGY from these inputs (exit 0); we refuse them."""
    vj = variantlib_outputs_dir / "variant-json"
    mkl = load_variant_json(
        (vj / "variant.json.mkl").read_bytes(), source="tinypkg-1.0.0-py3-none-any-mkl.whl"
    )
    null = load_variant_json(
        (vj / "variant.json.null").read_bytes(), source="tinypkg-1.0.0-py3-none-any-null.whl"
    )
    # the inconsistent wheel: same package, static-properties in another order (error-transcript.txt)
    doc = json.loads((vj / "variant.json.mkl").read_bytes())
    doc["providers"]["blas"]["static-properties"]["library"] = ["mkl", "openblas"]
    doc["variants"] = {"openblas": {"blas": {"library": ["openblas"]}}}
    openblas = load_variant_json(doc, source="tinypkg-1.0.0-py3-none-any-openblas.whl")
    buggy = load_variants_json(
        (variantlib_outputs_dir / "conflict-tinypkg-1.0.0-variants.json.BUGGY").read_bytes()
    )
    assert set(buggy.variants) == {"mkl", "null", "openblas"}  # what variantlib produced anyway
    for order in ([mkl, null, openblas], [openblas, null, mkl], [null, openblas, mkl]):
        with pytest.raises(MergeConflict) as info:
            merge_metadata(order)
        message = str(info.value)
        assert "providers.blas" in message
        assert "tinypkg-1.0.0-py3-none-any-openblas.whl" in message
        assert "tinypkg-1.0.0-py3-none-any-mkl.whl" in message or "-null.whl" in message
        assert "\n" not in message
    assert set(merge_metadata([mkl, null]).variants) == {"mkl", "null"}


def test_namespace_prefix_rule() -> None:
    a = wheel_md("v3", {"x86_64": {"level": ["v3"]}}, ["x86_64"], "a.whl")
    b = wheel_md("a8", {"aarch64": {"version": ["8"]}}, ["x86_64", "aarch64"], "b.whl")
    merged = merge_metadata([a, b])
    assert merged.namespace_priorities == ("x86_64", "aarch64")
    assert set(merged.providers) == {"x86_64", "aarch64"}
    assert merged.source == "a.whl, b.whl"
    c = wheel_md("a9", {"aarch64": {"version": ["9"]}}, ["aarch64", "x86_64"], "c.whl")
    with pytest.raises(MergeConflict, match=r"default-priorities\.namespace differs between"):
        merge_metadata([b, c])
    with pytest.raises(MergeConflict, match=r"one list must start with the other"):
        merge_metadata([a, c])


def test_provider_must_be_equal() -> None:
    a = wheel_md("v3", {"x86_64": {"level": ["v3"]}}, ["x86_64"], "a.whl")
    doc = json.loads(dump_json(a))
    doc["providers"]["x86_64"]["plugin-api"] = "other:Plugin"
    doc["variants"] = {"v4": {"x86_64": {"level": ["v4"]}}}
    b = load_variant_json(doc, source="b.whl")
    with pytest.raises(MergeConflict, match=r"providers\.x86_64 differs between a\.whl and b\.whl"):
        merge_metadata([a, b])


def test_same_label_same_properties() -> None:
    a = wheel_md("v3", {"x86_64": {"level": ["v3"]}}, ["x86_64"], "a.whl")
    again = wheel_md("v3", {"x86_64": {"level": ["v3"]}}, ["x86_64"], "a2.whl")
    assert merge_metadata([a, again]).variants == a.variants
    other = wheel_md("v3", {"x86_64": {"level": ["v4"]}}, ["x86_64"], "b.whl")
    with pytest.raises(
        MergeConflict, match=r"variants\.v3 differs .*x86_64 :: level :: v3.*x86_64 :: level :: v4"
    ):
        merge_metadata([a, other])


def test_generations_do_not_mix_but_schema_urls_of_one_generation_do() -> None:
    a = wheel_md("v3", {"x86_64": {"level": ["v3"]}}, ["x86_64"], "a.whl")
    b = wheel_md("v4", {"x86_64": {"level": ["v4"]}}, ["x86_64"], "b.whl", schema=VARIANTLIB)
    assert merge_metadata([a, b]).schema == merge_metadata([b, a]).schema
    legacy = load_variant_json(
        {
            "$schema": V003,
            "default-priorities": {"namespace": ["x86_64"]},
            "providers": {"x86_64": {"requires": ["x86-64-variant-provider"]}},
            "variants": {"v2": {"x86_64": {"level": ["v2"]}}},
        },
        source="c.whl",
    )
    with pytest.raises(MergeConflict, match=r"\$schema differs"):
        merge_metadata([a, legacy])


def test_legacy_priorities_must_agree_and_may_be_added_for_appended_namespaces() -> None:
    def legacy(
        namespaces: list[str], label: str, props: dict[str, Any], dp: dict[str, Any], src: str
    ) -> VariantMetadata:
        return load_variant_json(
            {
                "$schema": V003,
                "default-priorities": {"namespace": namespaces, **dp},
                "providers": {ns: {"requires": [f"{ns}-plugin"]} for ns in namespaces},
                "variants": {label: props},
            },
            source=src,
        )

    a = legacy(
        ["x86_64"],
        "v3",
        {"x86_64": {"level": ["v3"]}},
        {"property": {"x86_64": {"level": ["v3", "v2"]}}},
        "a",
    )
    b = legacy(
        ["x86_64", "aarch64"],
        "a8",
        {"aarch64": {"version": ["8"]}},
        {"property": {"x86_64": {"level": ["v3", "v2"]}, "aarch64": {"version": ["9", "8"]}}},
        "b",
    )
    merged = merge_metadata([a, b])
    assert merged.property_priorities == {
        "aarch64": {"version": ("9", "8")},
        "x86_64": {"level": ("v3", "v2")},
    }
    c = legacy(
        ["x86_64"],
        "v4",
        {"x86_64": {"level": ["v4"]}},
        {"property": {"x86_64": {"level": ["v2", "v3"]}}},
        "c",
    )
    with pytest.raises(
        MergeConflict, match=r"default-priorities\.property\.x86_64 differs between a and c"
    ):
        merge_metadata([a, c])
    d = legacy(["x86_64"], "v4", {"x86_64": {"level": ["v4"]}}, {}, "d")
    with pytest.raises(MergeConflict, match=r"default-priorities\.property\.x86_64"):
        merge_metadata([a, d])


def test_pep825_documents_merge() -> None:
    def doc(ns: list[str], label: str, props: dict[str, Any]) -> VariantMetadata:
        return load_variant_json(
            {"$schema": V011, "default-priorities": {"namespace": ns}, "variants": {label: props}}
        )

    merged = merge_metadata(
        [doc(["x"], "a", {"x": {"f": ["1"]}}), doc(["x", "y"], "b", {"y": {"g": ["2"]}})]
    )
    assert merged.namespace_priorities == ("x", "y") and set(merged.variants) == {"a", "b"}


def test_empty_input() -> None:
    with pytest.raises(InvalidMetadata, match="no variant metadata to merge"):
        merge_metadata([])


# every label is consistent with these properties; namespaces lists are prefixes of the longest
_LABELS = {
    "v3": {"x86_64": {"level": ["v3"]}},
    "v4": {"x86_64": {"level": ["v4"]}},
    "a8": {"aarch64": {"version": ["8"]}},
    "mkl": {"blas": {"library": ["mkl"]}},
    "null": {},
}
_NEEDS = {"v3": 1, "v4": 1, "a8": 2, "mkl": 3, "null": 1}
_ORDER = ["x86_64", "aarch64", "blas"]


@st.composite
def _consistent_docs(draw: st.DrawFn) -> list[VariantMetadata]:
    labels = draw(st.lists(st.sampled_from(sorted(_LABELS)), min_size=1, max_size=6))
    docs = []
    for i, label in enumerate(labels):
        n = draw(st.integers(_NEEDS[label], 3))
        docs.append(wheel_md(label, _LABELS[label], _ORDER[:n], f"w{i}.whl"))
    return docs


@settings(max_examples=60, deadline=None)
@given(docs=_consistent_docs(), data=st.data())
def test_merge_is_order_independent(docs: list[VariantMetadata], data: st.DataObject) -> None:
    merged = merge_metadata(docs)
    permuted = data.draw(st.permutations(docs))
    again = merge_metadata(permuted)
    assert again == merged
    assert dump_json(again) == dump_json(merged)
    assert set(merged.variants) == {label for md in docs for label in md.variants}


@settings(max_examples=60, deadline=None)
@given(docs=_consistent_docs(), data=st.data())
def test_conflicts_are_raised_in_every_order(
    docs: list[VariantMetadata], data: st.DataObject
) -> None:
    bad = wheel_md("v3", {"x86_64": {"level": ["v2"]}}, ["x86_64"], "bad.whl")
    docs = [*docs, wheel_md("v3", _LABELS["v3"], ["x86_64"], "good.whl"), bad]
    for order in (docs, data.draw(st.permutations(docs))):
        with pytest.raises(MergeConflict, match=r"variants\.v3 differs .*bad\.whl"):
            merge_metadata(order)
