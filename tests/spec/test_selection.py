"""Compatibility, effective support and wheel selection (PEP 817 §"Installing", PEP 825 §"Variant
ordering"). Checklist numbers refer to ../shared/reference/spec-digest.md §10."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.tags import Tag, compatible_tags, cpython_tags

from varwheel.errors import InvalidMetadata
from varwheel.spec.filenames import WheelFilename, parse_wheel_filename
from varwheel.spec.model import ProviderInfo, VariantMetadata
from varwheel.spec.properties import VariantProperty, canonical_properties
from varwheel.spec.selection import (
    Preferences,
    SupportedProperties,
    WheelSelection,
    effective_support,
    incompatibility,
    is_compatible,
    select_wheels,
)

LINUX_ENV = {
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "sys_platform": "linux",
    "python_version": "3.12",
}
PLATFORMS = [
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "linux_x86_64",
]
TAGS: list[Tag] = [
    *cpython_tags((3, 12), ["cp312"], PLATFORMS),
    *compatible_tags((3, 12), "cp312", PLATFORMS),
]


def props(*texts: str) -> tuple[VariantProperty, ...]:
    return canonical_properties(VariantProperty.parse(t) for t in texts)


def wheels(*names: str) -> list[WheelFilename]:
    return [parse_wheel_filename(n) for n in names]


def chosen(sel: WheelSelection) -> list[str]:
    return [rw.wheel.filename for rw in sel.ranked]


def metadata(
    namespaces: Sequence[str],
    variants: Mapping[str, Sequence[str]],
    providers: Mapping[str, ProviderInfo] | None = None,
) -> VariantMetadata:
    if providers is None:
        providers = {ns: ProviderInfo(ns, requires=(f"{ns}-provider",)) for ns in namespaces}
    return VariantMetadata(
        tuple(namespaces), providers, {lbl: props(*t) for lbl, t in variants.items()}
    )


# --- compatibility (checklist 12-14) --------------------------------------------------------------


def test_checklist_12_and_over_features_or_over_values() -> None:
    wheel = props(
        "x86_64 :: level :: v3", "nvidia :: sm_arch :: 120_real", "nvidia :: sm_arch :: 110_real"
    )
    sp = SupportedProperties({"x86_64": {"level": ("v3",)}, "nvidia": {"sm_arch": ("110_real",)}})
    assert is_compatible(wheel, sp)


def test_checklist_13_one_unsupported_feature_makes_incompatible() -> None:
    wheel = props("x86_64 :: level :: v3", "x86_64 :: avx512_bf16 :: on")
    sp = SupportedProperties({"x86_64": {"level": ("v4", "v3")}})
    reason = incompatibility(wheel, sp)
    assert reason is not None
    assert reason.code == "feature-unsupported"
    assert (reason.namespace, reason.feature) == ("x86_64", "avx512_bf16")
    assert reason.message == "x86_64 :: avx512_bf16 needs one of on; target has no supported values"


def test_checklist_14_null_variant_always_compatible() -> None:
    assert is_compatible((), SupportedProperties({}))


def test_namespace_without_result_says_so() -> None:
    reason = incompatibility(props("intel :: device_ip :: 12.55.8"), SupportedProperties({}))
    assert reason is not None and reason.code == "namespace-unavailable"
    assert "no provider result for namespace 'intel'" in reason.message


# --- effective support (checklist 39-41, 43) ------------------------------------------------------


def static_and_runtime_md(**kw: object) -> VariantMetadata:
    return metadata(
        ["gpu", "blas_lapack"],
        {"g": ["gpu :: arch :: x"], "b": ["blas_lapack :: provider :: mkl"]},
        providers={
            "gpu": ProviderInfo("gpu", requires=("gpu-provider",), **kw),  # type: ignore[arg-type]
            "blas_lapack": ProviderInfo(
                "blas_lapack",
                static_properties={"provider": ("accelerate", "openblas", "mkl")},
                install_time=False,
            ),
        },
    )


def test_checklist_41_static_values_come_from_metadata_never_detected() -> None:
    md = static_and_runtime_md()
    detected = SupportedProperties(
        {"gpu": {"arch": ("x",)}, "blas_lapack": {"provider": ("bogus",)}}
    )
    sp = effective_support(md, detected, marker_env=LINUX_ENV)
    assert sp.properties["blas_lapack"] == {"provider": ("accelerate", "openblas", "mkl")}
    assert sp.properties["gpu"] == {"arch": ("x",)}


def test_static_feature_order_first() -> None:
    md = metadata(
        ["s"],
        {},
        providers={
            "s": ProviderInfo(
                "s", static_properties={"b": ("1",), "a": ("2",)}, feature_order=("a", "b")
            )
        },
    )
    sp = effective_support(md, SupportedProperties({}), marker_env=LINUX_ENV)
    assert list(sp.properties["s"]) == ["a", "b"]


def test_checklist_39_optional_provider_needs_opt_in() -> None:
    md = static_and_runtime_md(optional=True)
    detected = SupportedProperties({"gpu": {"arch": ("x",)}})
    off = effective_support(md, detected, marker_env=LINUX_ENV)
    assert "gpu" not in off.properties
    assert off.unavailable["gpu"] == (
        "optional provider 'gpu' is not enabled (enable it with --enable-provider gpu)"
    )
    on = effective_support(md, detected, marker_env=LINUX_ENV, enabled_optional=["gpu"])
    assert on.properties["gpu"] == {"arch": ("x",)}


def test_checklist_40_enable_if_evaluated_on_target_environment() -> None:
    md = static_and_runtime_md(enable_if="platform_system == 'Windows'")
    detected = SupportedProperties({"gpu": {"arch": ("x",)}})
    linux = effective_support(md, detected, marker_env=LINUX_ENV)
    assert "gpu" not in linux.properties
    assert "enable-if" in linux.unavailable["gpu"]
    windows = effective_support(
        md, detected, marker_env={**LINUX_ENV, "platform_system": "Windows"}
    )
    assert windows.properties["gpu"] == {"arch": ("x",)}


def test_bad_enable_if_marker_is_invalid_metadata() -> None:
    md = static_and_runtime_md(enable_if="platform_system ==")
    with pytest.raises(InvalidMetadata) as err:
        effective_support(md, SupportedProperties({}), marker_env=LINUX_ENV)
    assert err.value.path == "providers.gpu.enable-if"


def test_enable_if_with_a_number_past_the_digit_limit_is_invalid_metadata() -> None:
    # a model built in memory skips the loader's check; evaluation must still fail in one line
    md = static_and_runtime_md(enable_if="python_version > '1" + "0" * 4400 + "'")
    with pytest.raises(InvalidMetadata) as err:
        effective_support(md, SupportedProperties({}), marker_env=LINUX_ENV)
    assert err.value.path == "providers.gpu.enable-if"
    assert "Exceeds the limit (4300 digits)" in str(err.value) and len(str(err.value)) < 400


def test_checklist_43_no_provider_result_falls_back_to_null() -> None:
    md = static_and_runtime_md()
    detected = SupportedProperties({}, {"gpu": "provider 'gpu' is not trusted"})
    sp = effective_support(md, detected, marker_env=LINUX_ENV)
    assert sp.unavailable["gpu"] == "provider 'gpu' is not trusted"
    sel = select_wheels(wheels("p-1-py3-none-any-g.whl", "p-1-py3-none-any-null.whl"), md, sp, TAGS)
    assert chosen(sel) == ["p-1-py3-none-any-null.whl"]
    assert "not trusted" in sel.rejected[0].reason.message


def test_namespace_outside_providers_comes_from_detected() -> None:
    md = metadata(["nvidia"], {})
    detected = SupportedProperties(
        {"abi_dependency": {"torch": ("2", "2.9")}, "nvidia": {"sm_arch": ("90_real",)}}
    )
    sp = effective_support(md, detected, marker_env=LINUX_ENV)
    assert sp.properties == detected.properties


# --- wheel selection ------------------------------------------------------------------------------


VECTOR_WHEELS = (
    "pkg-1.0-py3-none-any.whl",
    "pkg-1.0-py3-none-any-null.whl",
    "pkg-1.0-py3-none-any-c.whl",
    "pkg-1.0-py3-none-any-b.whl",
    "pkg-1.0-py3-none-any-a.whl",
)


def test_checklist_51_to_53_worked_vector_with_non_variant_wheel(
    worked_vector: tuple[VariantMetadata, SupportedProperties],
) -> None:
    md, sp = worked_vector
    sel = select_wheels(wheels(*VECTOR_WHEELS), md, sp, TAGS)
    assert [rw.label for rw in sel.ranked] == ["a", "b", "c", "null", None]
    assert sel.best is not None and sel.best.properties == md.variants["a"]
    assert sel.rejected == ()
    decided = [rw.decided_by for rw in sel.ranked]
    assert decided[0] == "x86_64 :: level :: v3 ranks before v4"
    assert decided[3] == "null variant before non-variant wheels (PEP 817 §6.4)"
    assert decided[4] == "last candidate"


def test_checklist_54_tags_order_within_label_and_variant_dominates() -> None:
    md = metadata(["ns"], {"fast": ["ns :: f :: v"], "null": []})
    sp = SupportedProperties({"ns": {"f": ("v",)}})
    sel = select_wheels(
        wheels(
            "p-1-cp312-cp312-manylinux_2_17_x86_64-fast.whl",
            "p-1-cp312-cp312-manylinux_2_28_x86_64-fast.whl",
            "p-1-cp312-cp312-manylinux_2_28_x86_64-null.whl",
            "p-1-py3-none-any-fast.whl",
        ),
        md,
        sp,
        TAGS,
    )
    assert chosen(sel) == [
        "p-1-cp312-cp312-manylinux_2_28_x86_64-fast.whl",
        "p-1-cp312-cp312-manylinux_2_17_x86_64-fast.whl",
        "p-1-py3-none-any-fast.whl",
        "p-1-cp312-cp312-manylinux_2_28_x86_64-null.whl",
    ]
    assert sel.ranked[0].decided_by.startswith("platform tag cp312-cp312-manylinux_2_28_x86_64")


def test_compressed_tag_set_uses_best_tag() -> None:
    md = metadata(["ns"], {"v": ["ns :: f :: v"]})
    sp = SupportedProperties({"ns": {"f": ("v",)}})
    sel = select_wheels(
        wheels(
            "p-1-py3-none-manylinux_2_17_x86_64-v.whl",
            "p-1-py3-none-manylinux2014_aarch64.manylinux_2_27_x86_64-v.whl",
        ),
        md,
        sp,
        TAGS,
    )
    assert chosen(sel)[0] == "p-1-py3-none-manylinux2014_aarch64.manylinux_2_27_x86_64-v.whl"


def test_higher_build_tag_first_like_pip() -> None:
    md = metadata(["ns"], {"v": ["ns :: f :: v"]})
    sp = SupportedProperties({"ns": {"f": ("v",)}})
    sel = select_wheels(
        wheels("p-1-py3-none-any-v.whl", "p-1-2-py3-none-any-v.whl", "p-1-10-py3-none-any-v.whl"),
        md,
        sp,
        TAGS,
    )
    assert chosen(sel) == [
        "p-1-10-py3-none-any-v.whl",
        "p-1-2-py3-none-any-v.whl",
        "p-1-py3-none-any-v.whl",
    ]
    assert sel.ranked[0].decided_by == "build tag 10 over 2"


def test_tag_mismatch_rejected() -> None:
    sel = select_wheels(
        wheels("p-1-cp310-cp310-win_amd64.whl"), None, SupportedProperties({}), TAGS
    )
    assert sel.ranked == ()
    assert sel.rejected[0].reason.code == "tag-mismatch"
    assert "cp310-cp310-win_amd64" in sel.rejected[0].reason.message


def test_checklist_47_missing_metadata_falls_back_to_non_variant() -> None:
    sel = select_wheels(
        wheels("p-1-py3-none-any-cu12.whl", "p-1-py3-none-any-null.whl", "p-1-py3-none-any.whl"),
        None,
        SupportedProperties({}),
        TAGS,
    )
    assert chosen(sel) == ["p-1-py3-none-any.whl"]
    assert {r.reason.code for r in sel.rejected} == {"no-metadata"}


def test_checklist_48_label_absent_from_metadata_rejected() -> None:
    md = metadata(["ns"], {"v": ["ns :: f :: v"]})
    sp = SupportedProperties({"ns": {"f": ("v",)}})
    sel = select_wheels(wheels("p-1-py3-none-any-other.whl"), md, sp, TAGS)
    assert sel.ranked == ()
    assert sel.rejected[0].reason.code == "label-not-in-metadata"


def test_null_wheel_accepted_when_null_missing_from_metadata() -> None:
    # digest §6.6: PEP 817's index example omits "null"; accept the null wheel anyway.
    md = metadata(["ns"], {"v": ["ns :: f :: v"]})
    sel = select_wheels(
        wheels("p-1-py3-none-any-v.whl", "p-1-py3-none-any-null.whl", "p-1-py3-none-any.whl"),
        md,
        SupportedProperties({}),
        TAGS,
    )
    assert chosen(sel) == ["p-1-py3-none-any-null.whl", "p-1-py3-none-any.whl"]


def test_checklist_8_variants_disabled_uses_non_variant_wheel(
    worked_vector: tuple[VariantMetadata, SupportedProperties],
) -> None:
    md, sp = worked_vector
    sel = select_wheels(wheels(*VECTOR_WHEELS), md, sp, TAGS, Preferences(variants_enabled=False))
    assert chosen(sel) == ["pkg-1.0-py3-none-any.whl"]
    assert {r.reason.code for r in sel.rejected} == {"variants-disabled"}


def test_requested_variant_excludes_others_and_non_variant(
    worked_vector: tuple[VariantMetadata, SupportedProperties],
) -> None:
    md, sp = worked_vector
    sel = select_wheels(wheels(*VECTOR_WHEELS), md, sp, TAGS, Preferences(variant="c"))
    assert [rw.label for rw in sel.ranked] == ["c"]
    assert {r.reason.code for r in sel.rejected} == {"not-requested"}


def test_requested_incompatible_variant_leaves_caller_the_reason(
    worked_vector: tuple[VariantMetadata, SupportedProperties],
) -> None:
    md, sp = worked_vector
    sp_no_v4 = SupportedProperties(
        {**sp.properties, "x86_64": {"level": ("v3", "v2", "v1")}}, sp.unavailable
    )
    sel = select_wheels(wheels(*VECTOR_WHEELS), md, sp_no_v4, TAGS, Preferences(variant="b"))
    assert sel.ranked == ()
    by_label = {r.wheel.label: r.reason for r in sel.rejected}
    assert by_label["b"].code == "feature-unsupported"
    assert by_label["b"].message == "x86_64 :: level needs one of v4; target has v3, v2, v1"
    forced = select_wheels(
        wheels(*VECTOR_WHEELS), md, sp_no_v4, TAGS, Preferences(variant="b", force_variant=True)
    )
    assert [rw.label for rw in forced.ranked] == ["b"]


def test_forced_label_without_metadata() -> None:
    sel = select_wheels(
        wheels("p-1-py3-none-any-cu12.whl", "p-1-py3-none-any.whl"),
        None,
        SupportedProperties({}),
        TAGS,
        Preferences(variant="cu12", force_variant=True),
    )
    assert chosen(sel) == ["p-1-py3-none-any-cu12.whl"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "null", None, "zz"]),
            st.sampled_from(
                ["py3-none-any", "cp312-cp312-manylinux_2_17_x86_64", "cp39-cp39-win32"]
            ),
            st.sampled_from(["", "1-", "7-"]),
        ),
        max_size=12,
        unique=True,
    )
)
def test_every_wheel_is_ranked_or_rejected_and_groups_are_contiguous(specs) -> None:
    md = metadata(["ns"], {"a": ["ns :: f :: x"], "b": ["ns :: f :: y"], "zz": ["ns :: g :: z"]})
    sp = SupportedProperties({"ns": {"f": ("y", "x")}})
    names = [f"p-1-{build}{tags}{'-' + lbl if lbl else ''}.whl" for lbl, tags, build in specs]
    sel = select_wheels(wheels(*names), md, sp, TAGS)
    assert sorted(chosen(sel) + [r.wheel.filename for r in sel.rejected]) == sorted(names)
    order = {"b": 0, "a": 1, "null": 2, None: 3}
    ranks = [order[rw.label] for rw in sel.ranked]
    assert ranks == sorted(ranks)
    assert all(rw.label != "zz" for rw in sel.ranked)


def test_supported_properties_round_trip_and_dedup() -> None:
    flat = props("b :: f :: 2", "a :: g :: 1")
    ordered = (flat[1], flat[0], flat[1])  # b first, a duplicate
    sp = SupportedProperties.from_properties(ordered, {"c": "why"})
    assert sp.properties == {"b": {"f": ("2",)}, "a": {"g": ("1",)}}
    assert sp.as_properties() == (flat[1], flat[0])
    assert sp.values("a", "g") == ("1",)
    assert sp.values("c", "x") == ()
    assert sp.unavailable == {"c": "why"}


def test_empty_provider_answer_reason_reaches_the_message() -> None:
    """A provider that ran and found nothing (no GPU) leaves its namespace present but empty;
    its ``unavailable`` note replaces the bare "no supported values" in the reason."""
    md = VariantMetadata(
        providers={"nvidia": ProviderInfo("nvidia", requires=("nvidia-variant-provider>=0.0.1",))},
        namespace_priorities=("nvidia",),
        variants={"cu12": (VariantProperty("nvidia", "sm_arch", "90_real"),)},
    )
    why = "native provider 'nvidia': no NVIDIA GPU found"
    detected = SupportedProperties({"nvidia": {}}, {"nvidia": why})
    effective = effective_support(md, detected, marker_env=LINUX_ENV)
    assert effective.unavailable == {"nvidia": why} and "nvidia" in effective.properties
    reason = incompatibility(md.variants["cu12"], effective)
    assert reason is not None and reason.code == "feature-unsupported"
    assert reason.message == f"nvidia :: sm_arch needs one of 90_real; {why}"
    bare = incompatibility(md.variants["cu12"], SupportedProperties({"nvidia": {}}))
    assert bare is not None and bare.message.endswith("target has no supported values")
