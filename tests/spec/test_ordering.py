"""Variant ordering (PEP 817 §"Variant ordering", PEP 825 §"Variant ordering") and preferences.

Checklist numbers refer to ../shared/reference/spec-digest.md §10.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from varwheel.errors import InvalidProperty
from varwheel.spec.compat import SupportedProperties, is_compatible
from varwheel.spec.model import ProviderInfo, VariantMetadata
from varwheel.spec.ordering import (
    ForbidPattern,
    Preferences,
    build_order,
    describe_decision,
    order_variants,
)
from varwheel.spec.properties import VariantProperty, canonical_properties


def props(*texts: str) -> tuple[VariantProperty, ...]:
    return canonical_properties(VariantProperty.parse(t) for t in texts)


def metadata(
    namespaces: Sequence[str],
    variants: Mapping[str, Sequence[str]],
    *,
    providers: Mapping[str, ProviderInfo] | None = None,
    feature_priorities: Mapping[str, tuple[str, ...]] | None = None,
    property_priorities: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
) -> VariantMetadata:
    if providers is None:
        providers = {ns: ProviderInfo(ns, requires=(f"{ns}-provider",)) for ns in namespaces}
    return VariantMetadata(
        namespace_priorities=tuple(namespaces),
        providers=providers,
        variants={label: props(*texts) for label, texts in variants.items()},
        feature_priorities=feature_priorities or {},
        property_priorities=property_priorities or {},
    )


def labels(
    md: VariantMetadata, sp: SupportedProperties, prefs: Preferences | None = None
) -> tuple[str, ...]:
    return order_variants(md, sp, prefs or Preferences()).labels


# --- PEP 817 §"Variant ordering" worked vector (digest §6.4; fixture in conftest.py) ---------------


def test_pep817_worked_vector_orders_a_b_c_null(
    worked_vector: tuple[VariantMetadata, SupportedProperties],
) -> None:
    md, sp = worked_vector
    ranking = order_variants(md, sp)
    assert ranking.labels == ("a", "b", "c", "null")
    keys = {rv.label: rv.key for rv in ranking.ranked}
    assert keys == {
        "a": ((0, 0, 0), (1, 0, 1)),
        "b": ((0, 0, 3), (1, 0, 2)),
        "c": ((1, 0, 2),),
        "null": (),
    }
    assert ranking.rejected == ()


def test_checklist_50_property_priority_then_supported_values() -> None:
    # ["v3","v2","v1"] + supported [v4..v1] -> v3 > v2 > v1 > v4
    md = metadata(
        ["x86_64"],
        {f"l{v}": [f"x86_64 :: level :: {v}"] for v in ("v1", "v2", "v3", "v4")},
        property_priorities={"x86_64": {"level": ("v3", "v2", "v1")}},
    )
    sp = SupportedProperties({"x86_64": {"level": ("v4", "v3", "v2", "v1")}})
    assert labels(md, sp) == ("lv3", "lv2", "lv1", "lv4", "null")


def test_checklist_49_namespace_then_feature_order() -> None:
    md = metadata(
        ["second", "first"],
        {
            "f_a": ["first :: a :: x"],
            "f_b": ["first :: b :: x"],
            "f_c": ["first :: c :: x"],
            "s_z": ["second :: z :: x"],
        },
        # default-priorities.feature lists c; the provider order adds b; supported order adds a
        providers={
            "first": ProviderInfo("first", requires=("p",), feature_order=("b",)),
            "second": ProviderInfo("second", requires=("q",)),
        },
        feature_priorities={"first": ("c",)},
    )
    sp = SupportedProperties(
        {"first": {"a": ("x",), "b": ("x",), "c": ("x",)}, "second": {"z": ("x",)}}
    )
    ranking = order_variants(md, sp)
    assert ranking.labels == ("s_z", "f_c", "f_b", "f_a", "null")
    s_z, f_c, f_b = ranking.ranked[:3]
    assert describe_decision(s_z, f_c) == (
        "namespace second ranks before first (second :: z :: x vs first :: c :: x)"
    )
    assert describe_decision(f_c, f_b) == (
        "feature first :: c ranks before first :: b (first :: c :: x vs first :: b :: x)"
    )


def test_checklist_51_prefix_tie_more_properties_win() -> None:
    md = metadata(
        ["ns"],
        {"short": ["ns :: a :: x"], "long": ["ns :: a :: x", "ns :: b :: y"]},
    )
    sp = SupportedProperties({"ns": {"a": ("x",), "b": ("y",)}})
    ranking = order_variants(md, sp)
    assert ranking.labels == ("long", "short", "null")
    assert describe_decision(ranking.ranked[0], ranking.ranked[1]) == (
        "same best properties as 'short' plus ns :: b :: y (more properties win)"
    )


def test_checklist_55_pep825_divergence_label_breaks_tie() -> None:
    # digest §9 item 4: A sm {120,110}, B sm {120}. PEP 817 applied to supported properties would
    # put A first (longer list); PEP 825 takes each feature's best supported value only, so both
    # keys are [(0,0,0)] and the label (ascending) decides.
    md = metadata(
        ["nvidia"],
        {
            "zz_fat": ["nvidia :: sm_arch :: 120_real", "nvidia :: sm_arch :: 110_real"],
            "aa_thin": ["nvidia :: sm_arch :: 120_real"],
        },
    )
    sp = SupportedProperties({"nvidia": {"sm_arch": ("120_real", "110_real")}})
    ranking = order_variants(md, sp)
    assert ranking.labels == ("aa_thin", "zz_fat", "null")
    assert ranking.ranked[0].key == ranking.ranked[1].key == ((0, 0, 0),)
    assert "tie-break" in describe_decision(ranking.ranked[0], ranking.ranked[1])


def test_listed_but_unsupported_value_never_boosts() -> None:
    # digest §9 item 4: PEP 817's index over *every* listed value would rank "fat" first through
    # 120_real (listed first in default-priorities.property but not supported by the target).
    md = metadata(
        ["nvidia"],
        {
            "fat": ["nvidia :: sm_arch :: 120_real", "nvidia :: sm_arch :: 80_real"],
            "mid": ["nvidia :: sm_arch :: 90_real"],
        },
        property_priorities={"nvidia": {"sm_arch": ("120_real", "90_real", "80_real")}},
    )
    sp = SupportedProperties({"nvidia": {"sm_arch": ("90_real", "80_real")}})
    ranking = order_variants(md, sp)
    assert ranking.labels == ("mid", "fat", "null")
    fat = ranking.ranked[1]
    assert fat.key_properties == props("nvidia :: sm_arch :: 80_real")


def test_checklist_52_null_last_even_when_missing_from_metadata() -> None:
    md = metadata(["ns"], {"one": ["ns :: f :: v"]})
    sp = SupportedProperties({"ns": {"f": ("v",)}})
    ranking = order_variants(md, sp)
    assert ranking.labels == ("one", "null")
    assert "null variant" in describe_decision(ranking.ranked[0], ranking.ranked[1])


def test_incompatible_variants_rejected_with_reasons() -> None:
    md = metadata(
        ["nvidia", "amd"],
        {
            "cu13": ["nvidia :: sm_arch :: 100_real", "nvidia :: sm_arch :: 120_real"],
            "rocm": ["amd :: gfx_arch :: gfx942"],
        },
    )
    sp = SupportedProperties(
        {"nvidia": {"sm_arch": ("90_real", "90_virtual")}},
        {"amd": "provider 'amd' is not trusted"},
    )
    ranking = order_variants(md, sp)
    assert ranking.labels == ("null",)
    reasons = {r.label: r.reason for r in ranking.rejected}
    assert reasons["cu13"].code == "feature-unsupported"
    assert reasons["cu13"].message == (
        "nvidia :: sm_arch needs one of 100_real, 120_real; target has 90_real, 90_virtual"
    )
    assert reasons["cu13"].required == ("100_real", "120_real")
    assert reasons["cu13"].available == ("90_real", "90_virtual")
    assert reasons["rocm"].code == "namespace-unavailable"
    assert "provider 'amd' is not trusted" in reasons["rocm"].message


def test_abi_dependency_support_from_caller_ranks_after_listed_namespaces() -> None:
    # abi_dependency cannot be in providers / default-priorities (digest §8.6); its support comes
    # from the caller and it is ordered after the metadata's namespaces.
    md = metadata(
        ["nvidia"],
        {
            "torch29": ["abi_dependency :: torch :: 2.9", "nvidia :: cuda :: 12"],
            "torch28": ["abi_dependency :: torch :: 2.8", "nvidia :: cuda :: 12"],
            "plain": ["nvidia :: cuda :: 12"],
        },
    )
    sp = SupportedProperties(
        {"nvidia": {"cuda": ("12",)}, "abi_dependency": {"torch": ("2", "2.9", "2.9.1")}}
    )
    ranking = order_variants(md, sp)
    assert ranking.labels == ("torch29", "plain", "null")
    assert ranking.ranked[0].key == ((0, 0, 0), (1, 0, 1))
    assert [r.label for r in ranking.rejected] == ["torch28"]


# --- preferences ----------------------------------------------------------------------------------


def cuda_md() -> tuple[VariantMetadata, SupportedProperties]:
    md = metadata(
        ["nvidia"],
        {
            "cu13": ["nvidia :: cuda_version_lower_bound :: 13.0"],
            "cu12": ["nvidia :: cuda_version_lower_bound :: 12.0"],
            "cu14": ["nvidia :: cuda_version_lower_bound :: 14.0"],
        },
    )
    sp = SupportedProperties({"nvidia": {"cuda_version_lower_bound": ("13.0", "12.0")}})
    return md, sp


def test_prefer_moves_value_first() -> None:
    md, sp = cuda_md()
    assert labels(md, sp) == ("cu13", "cu12", "null")
    prefer = (VariantProperty.parse("nvidia :: cuda_version_lower_bound :: 12.0"),)
    assert labels(md, sp, Preferences(prefer=prefer)) == ("cu12", "cu13", "null")


def test_prefer_moves_namespace_and_feature_first() -> None:
    md = metadata(["a", "b"], {"va": ["a :: f :: x"], "vb": ["b :: g :: y"]})
    sp = SupportedProperties({"a": {"f": ("x",)}, "b": {"g": ("y",), "h": ("z",)}})
    assert labels(md, sp) == ("va", "vb", "null")
    prefer = (VariantProperty.parse("b :: g :: y"),)
    assert labels(md, sp, Preferences(prefer=prefer)) == ("vb", "va", "null")


def test_checklist_56_prefer_never_selects_unsupported() -> None:
    md, sp = cuda_md()
    prefer = (VariantProperty.parse("nvidia :: cuda_version_lower_bound :: 14.0"),)
    ranking = order_variants(md, sp, Preferences(prefer=prefer))
    assert ranking.labels == ("cu13", "cu12", "null")
    assert {r.label for r in ranking.rejected} == {"cu14"}


@pytest.mark.parametrize(
    ("pattern", "left"),
    [
        ("nvidia", ("null",)),
        ("nvidia :: cuda_version_lower_bound", ("null",)),
        ("nvidia::cuda_version_lower_bound::13.0", ("cu12", "null")),
    ],
)
def test_forbid_patterns(pattern: str, left: tuple[str, ...]) -> None:
    md, sp = cuda_md()
    ranking = order_variants(md, sp, Preferences(forbid=(pattern,)))
    assert ranking.labels == left
    forbidden = [r for r in ranking.rejected if r.reason.code == "forbidden"]
    assert forbidden
    assert all("forbidden by --forbid nvidia" in r.reason.message for r in forbidden)


@pytest.mark.parametrize("pattern", ["", "Nvidia", "a :: b :: c :: d", "ns :: -x"])
def test_forbid_pattern_invalid(pattern: str) -> None:
    md, sp = cuda_md()
    with pytest.raises(InvalidProperty, match=r"^invalid forbid pattern"):
        order_variants(md, sp, Preferences(forbid=(pattern,)))


def test_variant_label_selects_only_that_label() -> None:
    md, sp = cuda_md()
    ranking = order_variants(md, sp, Preferences(variant="cu12"))
    assert ranking.labels == ("cu12",)
    assert {r.reason.code for r in ranking.rejected} == {"not-requested"}


def test_variant_label_incompatible_is_rejected_with_reason() -> None:
    md, sp = cuda_md()
    ranking = order_variants(md, sp, Preferences(variant="cu14"))
    assert ranking.labels == ()
    reason = {r.label: r.reason for r in ranking.rejected}["cu14"]
    assert reason.code == "feature-unsupported"
    assert reason.required == ("14.0",)


def test_force_variant_ranks_incompatible_label() -> None:
    # PEP 817 §"Provider-handling": installers MAY install a specified variant without verification.
    md, sp = cuda_md()
    ranking = order_variants(md, sp, Preferences(variant="cu14", force_variant=True))
    assert ranking.labels == ("cu14",)
    assert ranking.ranked[0].forced
    assert ranking.ranked[0].key == ()  # no supported value to rank by


def test_checklist_8_variants_disabled_rejects_every_label() -> None:
    md, sp = cuda_md()
    ranking = order_variants(md, sp, Preferences(variants_enabled=False))
    assert ranking.labels == ()
    assert {r.reason.code for r in ranking.rejected} == {"variants-disabled"}
    assert {r.label for r in ranking.rejected} == {"cu12", "cu13", "cu14", "null"}


# --- the rules against a literal transcription of PEP 825's comparison --------------------------

NAMES = st.sampled_from(["a", "b", "c", "d"])
VALUES = st.sampled_from(["0", "1", "2", "3", "4"])


@st.composite
def scenario(draw: st.DrawFn) -> tuple[VariantMetadata, SupportedProperties]:
    namespaces = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    support: dict[str, dict[str, tuple[str, ...]]] = {}
    for ns in namespaces:
        if draw(st.booleans()) or not support:
            feats = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
            support[ns] = {f: tuple(draw(st.permutations(["0", "1", "2", "3"]))[:3]) for f in feats}
    variants: dict[str, list[str]] = {}
    for i in range(draw(st.integers(0, 8))):
        chosen = draw(st.lists(st.tuples(st.sampled_from(namespaces), NAMES, VALUES), max_size=4))
        if chosen:
            variants[f"v{draw(st.integers(0, 99)):02d}{i}"] = [
                f"{n} :: {f} :: {v}" for n, f, v in chosen
            ]
    prop_prio = {
        ns: {f: tuple(draw(st.lists(VALUES, max_size=3, unique=True))) for f in feats}
        for ns, feats in support.items()
    }
    md = metadata(
        namespaces,
        variants,
        feature_priorities={
            ns: tuple(draw(st.lists(NAMES, max_size=2, unique=True))) for ns in namespaces
        },
        property_priorities=prop_prio,
    )
    return md, SupportedProperties(support)


def reference_order(
    md: VariantMetadata, sp: SupportedProperties, prefer: tuple[VariantProperty, ...] = ()
) -> list[str]:
    """PEP 825 ordering written out with a comparison function, as the PEP states it; ``prefer``
    puts its namespaces, features and values first (Preferences)."""
    ns_order = list(
        dict.fromkeys([*(p.namespace for p in prefer), *md.namespace_priorities, *sp.properties])
    )

    def feature_order(ns: str) -> list[str]:
        preferred = [p.feature for p in prefer if p.namespace == ns]
        return list(
            dict.fromkeys([*preferred, *md.feature_priorities.get(ns, ()), *sp.properties[ns]])
        )

    def value_order(ns: str, f: str) -> list[str]:
        preferred = [p.value for p in prefer if (p.namespace, p.feature) == (ns, f)]
        listed = [*preferred, *md.property_priorities.get(ns, {}).get(f, ())]
        return [v for v in dict.fromkeys([*listed, *sp.values(ns, f)]) if v in sp.values(ns, f)]

    def key(props_: tuple[VariantProperty, ...]) -> list[tuple[int, int, int]]:
        out = []
        for ns, f in {(p.namespace, p.feature) for p in props_}:
            vals = [p.value for p in props_ if (p.namespace, p.feature) == (ns, f)]
            order = value_order(ns, f)
            out.append(
                (
                    ns_order.index(ns),
                    feature_order(ns).index(f),
                    min(order.index(v) for v in vals if v in order),
                )
            )
        return sorted(out)

    def cmp(a: tuple[str, list], b: tuple[str, list]) -> int:
        for x, y in zip(a[1], b[1], strict=False):
            if x != y:
                return -1 if x < y else 1
        if len(a[1]) != len(b[1]):
            return -1 if len(a[1]) > len(b[1]) else 1
        return -1 if a[0] < b[0] else (1 if a[0] > b[0] else 0)

    compatible = [
        (label, key(p)) for label, p in {**md.variants, "null": ()}.items() if is_compatible(p, sp)
    ]
    return [label for label, _ in sorted(compatible, key=functools.cmp_to_key(cmp))]


@settings(max_examples=100, deadline=None)
@given(scenario())
def test_order_matches_literal_pep825_comparison(
    case: tuple[VariantMetadata, SupportedProperties],
) -> None:
    md, sp = case
    ranking = order_variants(md, sp)
    assert list(ranking.labels) == reference_order(md, sp)
    for rv in ranking.ranked:
        assert is_compatible(rv.properties, sp)
    for rej in ranking.rejected:
        assert not is_compatible(md.variants[rej.label], sp)
        assert rej.reason.code in {"feature-unsupported", "namespace-unavailable"}


@settings(max_examples=60, deadline=None)
@given(scenario(), st.data())
def test_prefer_matches_literal_comparison(
    case: tuple[VariantMetadata, SupportedProperties], data: st.DataObject
) -> None:
    md, sp = case
    pool = sorted({p for props_ in md.variants.values() for p in props_})
    assume(pool)
    prefer = tuple(data.draw(st.lists(st.sampled_from(pool), max_size=3, unique=True)))
    ranking = order_variants(md, sp, Preferences(prefer=prefer))
    assert list(ranking.labels) == reference_order(md, sp, prefer)
    # PEP 825: preferences reorder, they never add a variant the target does not support
    assert set(ranking.labels) == set(order_variants(md, sp).labels)


@settings(max_examples=50, deadline=None)
@given(scenario(), st.randoms())
def test_order_independent_of_metadata_dict_order(case, rnd) -> None:
    md, sp = case
    items = list(md.variants.items())
    rnd.shuffle(items)
    shuffled = VariantMetadata(
        md.namespace_priorities,
        md.providers,
        dict(items),
        md.feature_priorities,
        md.property_priorities,
    )
    assert order_variants(shuffled, sp) == order_variants(md, sp)


def test_build_order_indexes_only_supported_values() -> None:
    md = metadata(["ns"], {}, property_priorities={"ns": {"f": ("x", "y")}})
    order = build_order(md, SupportedProperties({"ns": {"f": ("z", "y")}}))
    assert order.table["ns"]["f"] == ((0, 0), {"y": 0, "z": 1})
    assert order.index(VariantProperty.parse("ns :: f :: z")) == (0, 0, 1)
    assert order.index(VariantProperty.parse("ns :: f :: x")) is None


NAME = st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True)
VALUE = st.from_regex(r"[a-z0-9_.]{1,8}", fullmatch=True)


@given(NAME, st.none() | NAME, VALUE, st.sampled_from(["::", " :: ", "  ::"]))
def test_forbid_pattern_parses_every_valid_form(
    ns: str, feature: str | None, value: str, sep: str
) -> None:
    parts = [ns] if feature is None else [ns, feature, value]
    pattern = ForbidPattern.parse(sep.join(parts))
    assert (pattern.namespace, pattern.feature, pattern.value) == (
        ns,
        feature,
        None if feature is None else value,
    )
    assert pattern.text == " :: ".join(parts)
    assert pattern.matches(VariantProperty(ns, feature or "f", value))


@given(st.text(max_size=30))
def test_forbid_pattern_rejects_garbage_with_invalid_property(text: str) -> None:
    try:
        pattern = ForbidPattern.parse(text)
    except InvalidProperty as exc:
        assert str(exc).startswith("invalid forbid pattern")
    else:
        assert 1 <= len(pattern.text.split(" :: ")) <= 3
