"""Cross-field validation: spec-digest §10 checklist items 15-32 (metadata) and the other rules."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from helpers.wheels import build_wheel
from varwheel.errors import InvalidFilename, InvalidMetadata, MergeConflict
from varwheel.inspect import inspect_path
from varwheel.spec.merge import merge_metadata
from varwheel.spec.metadata import dump_json, load_pyproject, load_variant_json, load_variants_json
from varwheel.spec.model import SCHEMA_V0_2_0, ProviderInfo, VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.spec.validation import PLUGIN_API_RE, lint, validate

V003 = "https://variants-schema.wheelnext.dev/v0.0.3.json"


def v020(variants: dict[str, Any] | None = None, **providers: Any) -> dict[str, Any]:
    providers = providers or {"x86_64": {"requires": ["x86-64-variant-provider"]}}
    return {
        "$schema": SCHEMA_V0_2_0,
        "default-priorities": {"namespace": list(providers)},
        "providers": providers,
        "variants": variants if variants is not None else {"v3": {"x86_64": {"level": ["v3"]}}},
    }


def pep817(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "$schema": V003,
        "default-priorities": {"namespace": ["x86_64", "blas"]},
        "providers": {
            "x86_64": {"requires": ["provider-variant-x86-64"]},
            "blas": {"install-time": False, "requires": ["blas-lapack-variant-provider"]},
        },
        "static-properties": {"blas": {"provider": ["openblas", "mkl"]}},
        "variants": {"v3": {"x86_64": {"level": ["v3"]}, "blas": {"provider": ["mkl"]}}},
    }
    doc.update(extra)
    return doc


def pyproject817(providers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    table = {"default-priorities": {"namespace": list(providers)}, "providers": providers, **extra}
    table.setdefault("static-properties", {})
    return {"variant": table}


def test_checklist_15_variant_json_in_dist_info(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path,
        "demo",
        "1.0",
        variant=v020({"v3": {"x86_64": {"level": ["v3"]}}}),
    )
    result = inspect_path(wheel)
    assert result.member == "demo-1.0.dist-info/variant.json"
    assert result.metadata is not None and list(result.metadata.variants) == ["v3"]
    # a labelled wheel without variant.json is broken
    plain = build_wheel(tmp_path / "plain", "demo", "1.0")
    broken = tmp_path / "demo-1.0-py3-none-any-v3.whl"
    broken.write_bytes(plain.read_bytes())
    with pytest.raises(InvalidMetadata, match=r"has no \*\.dist-info/variant\.json"):
        inspect_path(broken)


def test_checklist_16_variant_json_has_exactly_one_variant_named_by_the_label(
    tmp_path: Path,
) -> None:
    two = v020({"v3": {"x86_64": {"level": ["v3"]}}, "v4": {"x86_64": {"level": ["v4"]}}})
    with pytest.raises(
        InvalidMetadata,
        match=r"variants: a wheel's variant.json must list exactly one variant, found 2",
    ):
        load_variant_json(two)
    with pytest.raises(InvalidMetadata, match=r"found 0"):
        load_variant_json(v020({}))
    no_schema = v020()
    del no_schema["$schema"]
    with pytest.raises(InvalidMetadata, match=r"\$schema: missing"):
        load_variant_json(no_schema)
    wheel = build_wheel(tmp_path, "demo", "1.0", label="v4", variant=v020())
    with pytest.raises(
        InvalidMetadata, match=r"names variant 'v3' but the file name has label 'v4'"
    ):
        inspect_path(wheel)


@pytest.mark.parametrize(
    ("namespaces", "message"),
    [
        ([], "must list at least one namespace"),
        (["x86_64", "x86_64"], "duplicate namespace 'x86_64'"),
        (["x86_64", "aarch64"], "listed without a provider: aarch64"),
        (["aarch64"], "providers not listed here: x86_64"),
        (["X86"], "invalid namespace 'X86'"),
    ],
)
def test_checklist_17_namespace_list_equals_provider_keys(
    namespaces: list[str], message: str
) -> None:
    doc = v020()
    doc["default-priorities"]["namespace"] = namespaces
    with pytest.raises(InvalidMetadata, match=rf"default-priorities.namespace: .*{message}"):
        load_variants_json(doc)
    del doc["default-priorities"]["namespace"]
    with pytest.raises(InvalidMetadata, match=r"default-priorities.namespace: missing"):
        load_variants_json(doc)


def test_checklist_18_install_time_provider_needs_requires() -> None:
    for entry in ({}, {"requires": []}, {"install-time": True, "plugin-api": "x"}):
        doc = pep817()
        doc["providers"]["x86_64"] = entry
        with pytest.raises(
            InvalidMetadata,
            match=r"providers.x86_64.requires: an install-time provider needs a non-empty requires",
        ):
            load_variants_json(doc)
    with pytest.raises(InvalidMetadata, match=r"providers.x86_64: exactly one of requires"):
        load_variants_json(v020(x86_64={"requires": []}))


def test_checklist_19_pyproject_aot_without_requires_needs_static_properties() -> None:
    ok = pyproject817(
        {"blas": {"install-time": False}},
        **{"static-properties": {"blas": {"provider": ["openblas"]}}},
    )
    assert load_pyproject(ok).providers["blas"].static_properties == {"provider": ("openblas",)}
    with pytest.raises(
        InvalidMetadata,
        match=r"variant.static-properties.blas: an AoT provider .* without requires needs",
    ):
        load_pyproject(pyproject817({"blas": {"install-time": False}}))
    with_plugin = pyproject817(
        {"blas": {"install-time": False, "requires": ["blas-plugin"]}},
        **{"static-properties": {"blas": {"provider": ["openblas"]}}},
    )
    with pytest.raises(
        InvalidMetadata, match=r"variant.static-properties.blas: an AoT provider with requires"
    ):
        load_pyproject(with_plugin)
    install_time = pyproject817(
        {"x": {"requires": ["x-plugin"]}}, **{"static-properties": {"x": {"f": ["1"]}}}
    )
    with pytest.raises(
        InvalidMetadata, match=r"static-properties.x: namespace 'x' is not an AoT provider"
    ):
        load_pyproject(install_time)


def test_checklist_20_built_metadata_has_static_properties_for_every_aot_provider() -> None:
    doc = pep817()
    doc["static-properties"] = {}
    with pytest.raises(
        InvalidMetadata, match=r"static-properties.blas: missing for AoT provider 'blas'"
    ):
        load_variants_json(doc)


def test_checklist_21_several_static_features_are_all_ordered() -> None:
    doc = pep817()
    doc["static-properties"]["blas"]["ilp"] = ["lp64"]
    with pytest.raises(
        InvalidMetadata, match=r"default-priorities.feature.blas: .*missing ilp, provider"
    ):
        load_variants_json(doc)
    doc["default-priorities"]["feature"] = {"blas": ["provider"]}
    with pytest.raises(InvalidMetadata, match=r"missing ilp"):
        load_variants_json(doc)
    doc["default-priorities"]["feature"] = {"blas": ["provider", "ilp"]}
    assert load_variants_json(doc).providers["blas"].feature_order == ("provider", "ilp")
    # v0.2.0: feature-order inside the provider
    two = v020(
        {"a": {"blas": {"library": ["mkl"]}}},
        blas={"static-properties": {"library": ["mkl"], "ilp": ["lp64"]}},
    )
    with pytest.raises(
        InvalidMetadata, match=r"providers.blas.feature-order: must list every static feature"
    ):
        load_variants_json(two)
    two["providers"]["blas"]["feature-order"] = ["ilp", "library"]
    assert load_variants_json(two).providers["blas"].feature_order == ("ilp", "library")


def test_checklist_22_providers_are_kept_for_unused_namespaces() -> None:
    doc = v020(
        {"v3": {"x86_64": {"level": ["v3"]}}},
        x86_64={"requires": ["x86-64-variant-provider"]},
        aarch64={"requires": ["aarch64-variant-provider"], "optional": True},
    )
    md = load_variant_json(doc)
    assert set(md.providers) == {"x86_64", "aarch64"}
    assert json.loads(dump_json(md))["providers"]["aarch64"] == {
        "optional": True,
        "requires": ["aarch64-variant-provider"],
    }


def test_checklist_23_pyproject_must_not_contain_variants() -> None:
    table = {
        "default-priorities": {"namespace": ["x"]},
        "providers": {"x": {"requires": ["x-plugin"]}},
        "variants": {"a": {"x": {"f": ["1"]}}},
    }
    with pytest.raises(
        InvalidMetadata, match=r"variant.variants: pyproject.toml .* must not contain variants"
    ):
        load_pyproject({"variant": table})


@pytest.mark.parametrize(
    "ref", ["mod", "a.b", "a.b:C", "a.b : C.d", "pkg_1.plugin:Plugin.inner", "_x:_y"]
)
def test_checklist_24_plugin_api_valid(ref: str) -> None:
    assert PLUGIN_API_RE.fullmatch(ref)
    load_variants_json(v020(x86_64={"requires": ["p"], "plugin-api": ref}))


@pytest.mark.parametrize(
    "ref", ["x y", "a:", ":b", "a::b", "1a", "a-b", "a.:b", "a:b:c", "", " a", "a.b.", "a:b c"]
)
def test_checklist_24_plugin_api_invalid(ref: str) -> None:
    with pytest.raises(
        InvalidMetadata, match=rf"providers.x86_64.plugin-api: not a valid object reference {ref!r}"
    ):
        load_variants_json(v020(x86_64={"requires": ["p"], "plugin-api": ref}))


def test_checklist_25_plugin_api_inferred_from_first_applicable_requirement() -> None:
    info = ProviderInfo("blas", requires=("Blas.Lapack_Variant-Provider>=1",))
    assert info.object_reference() == "blas_lapack_variant_provider"
    assert (
        ProviderInfo("x", requires=("provider-variant-x86-64",)).object_reference()
        == "provider_variant_x86_64"
    )
    marked = ProviderInfo(
        "aarch64",
        requires=(
            "provider-variant-aarch64 >=0.0.1; python_version >= '3.12'",
            "legacy-provider-variant-aarch64 >=0.0.1; python_version < '3.12'",
        ),
    )
    assert marked.object_reference({"python_version": "3.11"}) == "legacy_provider_variant_aarch64"
    assert marked.object_reference({"python_version": "3.13"}) == "provider_variant_aarch64"
    assert replace(marked, plugin_api="m:C").object_reference() == "m:C"


def test_checklist_26_unknown_keys_ignored_at_every_level() -> None:
    doc = pep817()
    noisy = copy.deepcopy(doc)
    noisy["new-top"] = [1, 2]
    noisy["default-priorities"]["new"] = {}
    noisy["providers"]["x86_64"]["new"] = "x"
    assert load_variants_json(noisy) == load_variants_json(doc)
    doc2 = v020()
    noisy2 = copy.deepcopy(doc2)
    noisy2["providers"]["x86_64"]["enable-if"] = "python_version > '3'"  # unknown to v0.2.0
    assert load_variants_json(noisy2) == load_variants_json(doc2)


def test_checklist_27_variants_json_file_name(tmp_path: Path, variantlib_outputs_dir: Path) -> None:
    data = (variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes()
    good = tmp_path / "foo_bar-1.0-variants.json"
    good.write_bytes(data)
    result = inspect_path(good)
    assert (result.project, result.version) == ("foo-bar", "1.0")
    bad = tmp_path / "Foo-Bar-1.0-variants.json"
    bad.write_bytes(data)
    with pytest.raises(InvalidFilename, match=r"Foo-Bar-1.0-variants.json"):
        inspect_path(bad)


def test_checklist_29_index_file_lists_every_wheel_label(variantlib_outputs_dir: Path) -> None:
    """Merging the variant.json of every variantlib-built wheel gives variantlib's index file."""
    per_wheel = [
        load_variant_json(
            (variantlib_outputs_dir / "variant-json" / f"variant.json.{label}").read_bytes(),
            source=label,
        )
        for label in ("89de6e32", "mkl", "null", "v2_cuda_openblas", "x86_v4")
    ]
    merged = merge_metadata(per_wheel)
    index = load_variants_json(
        (variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes()
    )
    assert merged.variants == index.variants
    assert merged.providers == index.providers
    assert dump_json(merged) == dump_json(index)


def test_checklist_30_merge_rules() -> None:
    a = load_variants_json(v020({"v3": {"x86_64": {"level": ["v3"]}}}), source="a")
    b = load_variants_json(v020({"v4": {"x86_64": {"level": ["v4"]}}}), source="b")
    assert set(merge_metadata([a, b]).variants) == {"v3", "v4"}
    same_label = load_variants_json(v020({"v3": {"x86_64": {"level": ["v2"]}}}), source="c")
    with pytest.raises(MergeConflict, match=r"variants.v3 differs between a and c"):
        merge_metadata([a, same_label])
    extended = load_variants_json(
        v020(
            {"v3": {"x86_64": {"level": ["v3"]}}},
            x86_64={"requires": ["x86-64-variant-provider"]},
            aarch64={"requires": ["aarch64-variant-provider"]},
        ),
        source="d",
    )
    assert merge_metadata([a, extended]).namespace_priorities == ("x86_64", "aarch64")


def test_checklist_31_merge_is_order_independent() -> None:
    a = load_variants_json(v020({"v3": {"x86_64": {"level": ["v3"]}}}), source="a")
    b = load_variants_json(
        v020(
            {"v4": {"x86_64": {"level": ["v4"]}}},
            x86_64={"requires": ["x86-64-variant-provider"]},
            aarch64={"requires": ["aarch64-variant-provider"]},
        ),
        source="b",
    )
    assert merge_metadata([a, b]) == merge_metadata([b, a])
    assert dump_json(merge_metadata([a, b])) == dump_json(merge_metadata([b, a]))


def test_checklist_32_variant_values_sorted_and_deduplicated() -> None:
    doc = v020({"fat": {"x86_64": {"ext": ["sse4", "avx2", "avx2", "aes"], "level": ["v3"]}}})
    out = json.loads(dump_json(load_variants_json(doc)))
    assert out["variants"]["fat"]["x86_64"] == {"ext": ["aes", "avx2", "sse4"], "level": ["v3"]}


# --------------------------------------------------------------------------- other rules


def test_abi_dependency_not_a_provider_but_allowed_in_variants() -> None:
    with pytest.raises(
        InvalidMetadata, match=r"providers.abi_dependency: 'abi_dependency' is reserved"
    ):
        load_variants_json(v020(abi_dependency={"requires": ["x"]}))
    doc = v020({"torch29": {"x86_64": {"level": ["v3"]}, "abi_dependency": {"torch": ["2.9"]}}})
    md = load_variants_json(doc)
    assert VariantProperty("abi_dependency", "torch", "2.9") in md.variants["torch29"]


def test_namespace_without_provider_rejected() -> None:
    doc = v020({"a": {"foo": {"bar": ["baz"]}}})
    with pytest.raises(
        InvalidMetadata,
        match=r"variants.a.foo: namespace 'foo' is used by variant 'a' but has no entry in providers",
    ):
        load_variants_json(doc)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"requires": ["x"], "static-properties": {"f": ["1"]}},
            r"exactly one of .*got requires, static-properties",
        ),
        (
            {"static-properties": {"f": ["1"]}, "plugin-api": "m"},
            "plugin-api: plugin-api is valid only with requires",
        ),
        (
            {"requires": ["x"], "feature-order": ["f"]},
            "feature-order: feature-order is valid only with static-properties",
        ),
        (
            {"build-requires": ["x"]},
            "build-requires: build-requires is only allowed in pyproject.toml",
        ),
        ({"static-properties": {}}, "static-properties: must name at least one feature"),
        ({"static-properties": {"f": []}}, r"static-properties.f: must list at least one value"),
        ({"static-properties": {"f": ["1", "1"]}}, "static-properties.f: duplicate value '1'"),
        ({"static-properties": {"F": ["1"]}}, "static-properties: invalid feature name 'F'"),
        ({"requires": ["not a requirement !"]}, r"requires\[0\]: not a valid requirement"),
        ({"builtin": ""}, "builtin: must not be empty"),
    ],
)
def test_v020_provider_rules(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidMetadata, match=rf"providers\.x86_64[.:] ?{message}") as info:
        load_variants_json(v020({"null": {}}, x86_64=entry), source="f")
    assert "\n" not in str(info.value)


def test_pep817_enable_if_must_be_a_marker() -> None:
    doc = pep817()
    doc["providers"]["x86_64"]["enable-if"] = "platform_machine =="
    with pytest.raises(
        InvalidMetadata, match=r"providers.x86_64.enable-if: not a valid environment marker"
    ):
        load_variants_json(doc)


def test_null_label_rules() -> None:
    with pytest.raises(InvalidMetadata, match=r"variants.null: label 'null' is reserved"):
        load_variants_json(v020({"null": {"x86_64": {"level": ["v3"]}}}))
    with pytest.raises(InvalidMetadata, match=r"variants.empty: variant 'empty' has no properties"):
        load_variants_json(v020({"empty": {}}))


def test_lint_static_values() -> None:
    doc = v020(
        {
            "multi": {"blas": {"library": ["mkl", "openblas"]}},
            "odd": {"blas": {"library": ["atlas"]}},
        },
        blas={"static-properties": {"library": ["openblas", "mkl"]}},
    )
    md = load_variants_json(doc)
    text = "\n".join(md.warnings)
    assert "variants.odd.blas.library: none of atlas is a static property" in text
    assert "variants.multi.blas.library: several values for a static feature" in text
    assert lint(md) == md.warnings


def test_validate_hand_built_model() -> None:
    md = VariantMetadata(
        namespace_priorities=("x",),
        providers={"x": ProviderInfo("y", requires=("x-plugin",))},
        variants={},
    )
    with pytest.raises(InvalidMetadata, match=r"providers.x: provider entry names namespace 'y'"):
        validate(md, kind="variants.json")
    with pytest.raises(ValueError, match=r"unknown document kind"):
        validate(md, kind="wheel")  # type: ignore[arg-type]
    bad_prop = replace(
        md,
        providers={"x": ProviderInfo("x", requires=("x-plugin",))},
        variants={"a": (VariantProperty("x", "F", "1"),)},
    )
    with pytest.raises(InvalidMetadata, match=r"variants.a.x.F: invalid feature name 'F'"):
        validate(bad_prop, kind="variants.json")


# --------------------------------------------------------------------------- issue 7: inputs

_HUGE = "1" + "0" * 4400  # past int()'s 4,300-digit limit


@pytest.mark.parametrize(
    ("where", "text", "path"),
    [
        ("requires", f"provider>={_HUGE}", "providers.x86_64.requires[0]"),
        ("requires", f"provider; python_version > '{_HUGE}'", "providers.x86_64.requires[0]"),
        ("enable-if", f"python_version > '{_HUGE}'", "providers.x86_64.enable-if"),
    ],
)
def test_numbers_past_the_digit_limit_in_requires_and_enable_if(
    where: str, text: str, path: str
) -> None:
    doc = pep817()
    provider = doc["providers"]["x86_64"]
    if where == "requires":
        provider["requires"] = [text]
    else:
        provider["enable-if"] = text
    with pytest.raises(InvalidMetadata) as err:
        load_variants_json(json.dumps(doc), source="demo-1.0-variants.json")
    message = str(err.value)
    assert message.startswith(f"demo-1.0-variants.json: {path}: ")
    assert "more than 4300 digits" in message and len(message) < 400


def test_huge_json_numbers_are_type_errors_not_crashes() -> None:
    text = json.dumps(pep817()).replace('"install-time": false', f'"install-time": {_HUGE}')
    with pytest.raises(InvalidMetadata, match=r"providers\.blas\.install-time: expected a boolean"):
        load_variants_json(text)


def test_list_validation_finds_the_bad_value_in_a_long_list() -> None:
    values = [f"v{i}" for i in range(5000)]
    values[4321] = "v\nbad"  # a newline must not hide inside the joined one-pass check
    doc = v020(
        {"a": {"s": {"f": ["v1"]}}},
        s={"static-properties": {"f": values}},
    )
    with pytest.raises(InvalidMetadata, match=r"invalid feature value 'v\\nbad'"):
        load_variants_json(doc)


def test_a_megabyte_value_is_cut_in_the_message() -> None:
    doc = v020({"a": {"x86_64": {"level": ["V" * 1_000_000]}}})
    with pytest.raises(InvalidMetadata) as err:
        load_variants_json(doc)
    message = str(err.value)
    assert "(1000000 characters)" in message and len(message) < 500
