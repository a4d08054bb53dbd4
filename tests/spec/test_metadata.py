"""Loaders of every schema generation, ``$schema`` negotiation, and the canonical v0.2.0 writer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from varwheel.errors import InvalidMetadata, UnsupportedSchema, VarwheelError
from varwheel.spec.metadata import (
    dump_json,
    load_pyproject,
    load_variant_json,
    load_variants_json,
    load_wheel_variant_json,
    parse_json,
    to_v0_2_0,
    to_v0_2_0_dict,
)
from varwheel.spec.model import SCHEMA_V0_2_0, ProviderKind, SchemaGeneration
from varwheel.spec.properties import VariantProperty

V003 = "https://variants-schema.wheelnext.dev/v0.0.3.json"
V002 = "https://variants-schema.wheelnext.dev/v0.0.2.json"
UNVERSIONED = "https://variants-schema.wheelnext.dev/"
V011 = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"
V010 = "https://variants-schema.wheelnext.dev/peps/825/v0.1.0.json"
VARIANTLIB_V020 = "https://variants-schema.wheelnext.dev/v0.2.0.json"


def v020_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "$schema": SCHEMA_V0_2_0,
        "default-priorities": {"namespace": ["x86_64", "blas"]},
        "providers": {
            "x86_64": {
                "requires": ["x86-64-variant-provider>=0.1"],
                "plugin-api": "x86_plugin:Plugin",
            },
            "blas": {"static-properties": {"library": ["openblas", "mkl"]}},
        },
        "variants": {
            "v3_openblas": {"x86_64": {"level": ["v3"]}, "blas": {"library": ["openblas"]}},
            "null": {},
        },
    }
    doc.update(overrides)
    return doc


def pep817_doc() -> dict[str, Any]:
    """The PEP 817 §"variant.json" example, index form (spec-digest §3.6/§3.7)."""
    return {
        "$schema": V003,
        "default-priorities": {
            "feature": {"aarch64": ["version"], "x86_64": ["level"]},
            "namespace": ["x86_64", "aarch64", "blas_lapack"],
            "property": {"x86_64": {"level": ["v3", "v2", "v1"]}},
        },
        "providers": {
            "aarch64": {
                "enable-if": "platform_machine == 'aarch64' or 'arm' in platform_machine",
                "plugin-api": "provider_variant_aarch64.plugin:AArch64Plugin",
                "requires": [
                    "provider-variant-aarch64 >=0.0.1; python_version >= '3.12'",
                    "legacy-provider-variant-aarch64 >=0.0.1; python_version < '3.12'",
                ],
            },
            "blas_lapack": {"install-time": False, "requires": ["blas-lapack-variant-provider"]},
            "x86_64": {
                "enable-if": "platform_machine == 'x86_64' or platform_machine == 'AMD64'",
                "plugin-api": "provider_variant_x86_64.plugin:X8664Plugin",
                "requires": ["provider-variant-x86-64 >=0.0.1"],
            },
        },
        "static-properties": {"blas_lapack": {"provider": ["accelerate", "openblas", "mkl"]}},
        "variants": {
            "x8664v3_openblas": {
                "blas_lapack": {"provider": ["openblas"]},
                "x86_64": {"level": ["v3"]},
            },
            "x8664v4_mkl": {"blas_lapack": {"provider": ["mkl"]}, "x86_64": {"level": ["v4"]}},
        },
    }


# --------------------------------------------------------------------------- v0.2.0


def test_v020_loads_into_model() -> None:
    md = load_variants_json(json.dumps(v020_doc()), source="demo-1.0-variants.json")
    assert md.generation is SchemaGeneration.PROVIDERS
    assert md.schema == SCHEMA_V0_2_0
    assert md.source == "demo-1.0-variants.json"
    assert md.namespace_priorities == ("x86_64", "blas")
    assert md.providers["x86_64"].kind is ProviderKind.INSTALL_TIME
    assert md.providers["x86_64"].plugin_api == "x86_plugin:Plugin"
    assert md.providers["blas"].kind is ProviderKind.STATIC
    assert md.providers["blas"].static_properties == {"library": ("openblas", "mkl")}
    assert md.variants["v3_openblas"] == (
        VariantProperty("blas", "library", "openblas"),
        VariantProperty("x86_64", "level", "v3"),
    )
    assert md.variants["null"] == ()
    assert md.warnings == ()


def test_variantlib_schema_url_accepted_with_note() -> None:
    md = load_variants_json(json.dumps(v020_doc(**{"$schema": VARIANTLIB_V020})))
    assert md.generation is SchemaGeneration.PROVIDERS
    assert any("non-canonical" in w for w in md.warnings)


def test_wheel_variant_json_must_name_the_filename_label() -> None:
    doc = v020_doc(variants={"v3_openblas": v020_doc()["variants"]["v3_openblas"]})
    md = load_wheel_variant_json(doc, "v3_openblas", source="w.whl")
    assert list(md.variants) == ["v3_openblas"] and md.source == "w.whl"
    with pytest.raises(
        InvalidMetadata, match="names variant 'v3_openblas' but the file name has label 'x'"
    ) as err:
        load_wheel_variant_json(doc, "x", source="w.whl")
    assert err.value.path == "variants" and err.value.source == "w.whl"
    with pytest.raises(InvalidMetadata, match="the file name has no variant label"):
        load_wheel_variant_json(doc, None)


def test_v020_builtin_and_optional_provider() -> None:
    doc = v020_doc()
    doc["providers"]["x86_64"] = {"builtin": "x86_64", "optional": True}
    md = load_variants_json(doc)
    assert md.providers["x86_64"].kind is ProviderKind.BUILTIN
    assert md.providers["x86_64"].optional is True


def test_loader_accepts_bytes_str_and_mapping() -> None:
    doc = v020_doc()
    from_bytes = load_variants_json(json.dumps(doc).encode())
    assert from_bytes == load_variants_json(json.dumps(doc)) == load_variants_json(doc)


def test_unknown_keys_are_ignored_and_never_written() -> None:
    doc = v020_doc()
    doc["future-key"] = {"x": 1}
    doc["default-priorities"]["something"] = [1]
    doc["providers"]["x86_64"]["future"] = True
    doc["variants"]["null"] = {}
    md = load_variants_json(doc)
    assert md == load_variants_json(v020_doc())
    out = dump_json(md).decode()
    assert "future" not in out and "something" not in out


# --------------------------------------------------------------------------- PEP 825 v0.1.x


def test_pep825_v011_loads_without_providers() -> None:
    doc = {
        "$schema": V011,
        "default-priorities": {"namespace": ["x86_64", "aarch64", "blas_lapack"]},
        "variants": {
            "null": {},
            "x86_64_v3_openblas": {
                "blas_lapack": {"library": ["openblas"]},
                "x86_64": {"level": ["v3"]},
            },
        },
    }
    md = load_variants_json(doc)
    assert md.generation is SchemaGeneration.PEP825
    assert md.providers == {}
    assert set(md.variants) == {"null", "x86_64_v3_openblas"}


def test_pep825_v010_keeps_feature_and_property_priorities() -> None:
    doc = {
        "$schema": V010,
        "default-priorities": {
            "namespace": ["x86_64"],
            "feature": {"x86_64": ["level"]},
            "property": {"x86_64": {"level": ["v3", "v2"]}},
        },
        "variants": {"v3": {"x86_64": {"level": ["v3"]}}},
    }
    md = load_variant_json(doc)
    assert md.feature_priorities == {"x86_64": ("level",)}
    assert md.property_priorities == {"x86_64": {"level": ("v3", "v2")}}


def test_pep825_namespace_list_must_cover_variants() -> None:
    doc = {
        "$schema": V011,
        "default-priorities": {"namespace": ["x86_64"]},
        "variants": {"a": {"aarch64": {"version": ["8.1a"]}}},
    }
    with pytest.raises(InvalidMetadata, match=r"variants\.a\.aarch64: namespace 'aarch64'"):
        load_variants_json(doc)


def test_pep825_cannot_be_written_as_v020() -> None:
    doc = {"$schema": V011, "default-priorities": {"namespace": ["x"]}, "variants": {}}
    md = load_variants_json(doc, source="f.json")
    with pytest.raises(InvalidMetadata, match=r"no provider information"):
        dump_json(md)


# --------------------------------------------------------------------------- PEP 817


@pytest.mark.parametrize("schema", [V003, V002, UNVERSIONED])
def test_pep817_loads_every_url(schema: str) -> None:
    doc = pep817_doc()
    doc["$schema"] = schema
    md = load_variants_json(doc)
    assert md.generation is SchemaGeneration.PEP817
    aarch = md.providers["aarch64"]
    assert aarch.kind is ProviderKind.INSTALL_TIME
    assert aarch.enable_if == "platform_machine == 'aarch64' or 'arm' in platform_machine"
    blas = md.providers["blas_lapack"]
    assert blas.kind is ProviderKind.STATIC and blas.install_time is False
    assert blas.static_properties == {"provider": ("accelerate", "openblas", "mkl")}
    assert md.feature_priorities == {"aarch64": ("version",), "x86_64": ("level",)}
    assert md.property_priorities == {"x86_64": {"level": ("v3", "v2", "v1")}}


def test_pep817_to_v020_folds_static_priorities_and_warns_about_the_rest() -> None:
    doc = pep817_doc()
    doc["default-priorities"]["property"]["blas_lapack"] = {"provider": ["mkl", "nonexistent"]}
    conv = to_v0_2_0(load_variants_json(doc))
    providers = conv.document["providers"]
    # property priority of a static provider reorders its static-properties (§6.4 step 3)
    assert providers["blas_lapack"] == {
        "static-properties": {"provider": ["mkl", "accelerate", "openblas"]}
    }
    assert providers["x86_64"] == {
        "plugin-api": "provider_variant_x86_64.plugin:X8664Plugin",
        "requires": ["provider-variant-x86-64 >=0.0.1"],
    }
    text = "\n".join(conv.warnings)
    assert "providers.aarch64.enable-if" in text and "providers.x86_64.enable-if" in text
    assert "default-priorities.feature.x86_64" in text
    assert "default-priorities.property.x86_64" in text
    assert "blas_lapack" not in text  # folded, nothing lost


def test_pep817_static_feature_order_becomes_feature_order() -> None:
    doc = pep817_doc()
    doc["static-properties"]["blas_lapack"] = {"provider": ["openblas"], "ilp": ["lp64", "ilp64"]}
    doc["default-priorities"]["feature"]["blas_lapack"] = ["ilp", "provider"]
    doc["variants"] = {"a": {"blas_lapack": {"provider": ["openblas"]}}}
    document = to_v0_2_0_dict(load_variants_json(doc))
    assert document["providers"]["blas_lapack"]["feature-order"] == ["ilp", "provider"]
    again = load_variants_json(dump_json(load_variants_json(doc)))
    assert again.providers["blas_lapack"].feature_order == ("ilp", "provider")


def test_pep817_legacy_null_label_is_written_as_null_with_a_warning() -> None:
    doc = pep817_doc()
    doc["variants"]["00000000"] = {}
    md = load_variants_json(doc, source="t.json")
    assert md.variants["00000000"] == ()
    assert md.legacy_null_labels == frozenset({"00000000"})
    assert md.is_null_variant("00000000") and md.is_null_variant("null")
    assert not md.is_null_variant("x8664v3_openblas")
    assert any("00000000" in w for w in md.warnings)
    conv = to_v0_2_0(md)
    assert conv.document["variants"]["null"] == {}
    assert "00000000" not in conv.document["variants"]
    (warning,) = [w for w in conv.warnings if "00000000" in w]
    assert "'null'" in warning and "-00000000.whl" in warning
    again = load_variants_json(dump_json(md))
    assert again.variants["null"] == () and again.legacy_null_labels == frozenset()
    assert {k: v for k, v in again.variants.items() if k != "null"} == {
        k: v for k, v in md.variants.items() if k != "00000000"
    }


def test_legacy_null_label_next_to_null_collapses_into_one_null_variant() -> None:
    doc = pep817_doc()
    doc["variants"].update({"00000000": {}, "null": {}, "empty": {}})
    md = load_variants_json(doc)
    assert md.legacy_null_labels == frozenset({"00000000", "empty"})
    document = to_v0_2_0_dict(md)
    assert document["variants"]["null"] == {}
    assert not {"00000000", "empty"} & set(document["variants"])
    out = dump_json(md)
    assert dump_json(load_variants_json(out)) == out


def test_v020_reader_keeps_null_strict() -> None:
    md = load_variants_json(to_v0_2_0_dict(load_variants_json(pep817_doc())))
    assert md.legacy_null_labels == frozenset() and md.is_null_variant("null")
    doc = to_v0_2_0_dict(md)
    doc["variants"]["00000000"] = {}
    with pytest.raises(InvalidMetadata, match=r"variants\.00000000: .*only label 'null'"):
        load_variants_json(doc)


def test_pep817_static_properties_for_install_time_provider_rejected() -> None:
    doc = pep817_doc()
    doc["static-properties"]["x86_64"] = {"level": ["v3"]}
    with pytest.raises(InvalidMetadata, match=r"static-properties\.x86_64: .*not an AoT provider"):
        load_variants_json(doc)


# --------------------------------------------------------------------------- $schema


@pytest.mark.parametrize(
    "url",
    [
        "https://variants-schema.wheelnext.dev/peps/850/v0.3.0.json",
        "https://variants-schema.wheelnext.dev/peps/850/v0.2.7.json",
        "https://variants-schema.wheelnext.dev/peps/825/v0.1.2.json",
        "https://variants-schema.wheelnext.dev/v0.0.4.json",
    ],
)
def test_newer_minor_accepted_with_warning(url: str) -> None:
    doc = v020_doc(**{"$schema": url})
    if url.endswith("v0.0.4.json"):
        doc = pep817_doc()
        doc["$schema"] = url
    if "/825/" in url:
        doc = {
            "$schema": url,
            "default-priorities": {"namespace": ["x"]},
            "variants": {"a": {"x": {"f": ["1"]}}},
        }
    md = load_variants_json(doc)
    assert md.schema == url
    assert any("newer than the supported" in w for w in md.warnings)


@pytest.mark.parametrize(
    "url",
    [
        "https://variants-schema.wheelnext.dev/peps/850/v1.0.0.json",
        "https://variants-schema.wheelnext.dev/peps/825/v9.0.0.json",
        "https://example.com/v0.2.0.json",
        "https://variants-schema.wheelnext.dev/peps/999/v0.2.0.json",
        "https://variants-schema.wheelnext.dev/v0.0.1.json",
        "https://variants-schema.wheelnext.dev/v0.1.0.json",
        "not a url",
    ],
)
def test_unknown_schema_rejected(url: str) -> None:
    with pytest.raises(UnsupportedSchema) as info:
        load_variants_json(v020_doc(**{"$schema": url}), source="x-1-variants.json")
    assert str(info.value).startswith("x-1-variants.json: $schema: ")


def test_missing_or_non_string_schema_rejected() -> None:
    doc = v020_doc()
    del doc["$schema"]
    with pytest.raises(InvalidMetadata, match=r"\$schema: missing"):
        load_variants_json(doc)
    with pytest.raises(InvalidMetadata, match=r"\$schema: expected a URL string, got a number"):
        load_variants_json(v020_doc(**{"$schema": 3}))


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"$schema": ', "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object at the top level, got a list"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ],
)
def test_not_json_or_not_object(data: bytes, message: str) -> None:
    with pytest.raises(InvalidMetadata, match=message) as info:
        load_variants_json(data, source="broken.json")
    assert str(info.value).startswith("broken.json: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d.__setitem__("default-priorities", []),
            "default-priorities: expected an object",
        ),
        (
            lambda d: d["default-priorities"].__setitem__("namespace", "x86_64"),
            "default-priorities.namespace: expected a list",
        ),
        (
            lambda d: d["default-priorities"]["namespace"].__setitem__(0, 5),
            r"default-priorities.namespace\[0\]: expected a string",
        ),
        (
            lambda d: d["providers"].__setitem__("x86_64", "req"),
            "providers.x86_64: expected an object",
        ),
        (
            lambda d: d["providers"]["x86_64"].__setitem__("requires", "x"),
            "providers.x86_64.requires: expected a list",
        ),
        (
            lambda d: d["providers"]["x86_64"].__setitem__("optional", "yes"),
            "providers.x86_64.optional: expected a boolean",
        ),
        (
            lambda d: d["providers"]["x86_64"].__setitem__("plugin-api", 1),
            "providers.x86_64.plugin-api: expected a string",
        ),
        (
            lambda d: d["providers"]["blas"]["static-properties"].__setitem__("library", {}),
            "providers.blas.static-properties.library: expected a list",
        ),
        (lambda d: d.__setitem__("variants", []), "variants: expected an object"),
        (
            lambda d: d["variants"].__setitem__("v3_openblas", ["x"]),
            "variants.v3_openblas: expected an object",
        ),
        (
            lambda d: d["variants"]["v3_openblas"].__setitem__("x86_64", {"level": "v3"}),
            "variants.v3_openblas.x86_64.level: expected a list",
        ),
        (
            lambda d: d["variants"]["v3_openblas"].__setitem__("x86_64", {"level": [True]}),
            r"level\[0\]: expected a string, got a boolean",
        ),
        (
            lambda d: d["variants"]["v3_openblas"].__setitem__("x86_64", {"level": []}),
            "variants.v3_openblas.x86_64.level: empty value list",
        ),
        (
            lambda d: d["variants"]["v3_openblas"].__setitem__("x86_64", {"level": ["V3"]}),
            "variants.v3_openblas.x86_64.level: invalid variant feature value 'V3'",
        ),
        (
            lambda d: d["variants"].__setitem__("Bad-Label", {"x86_64": {"level": ["v3"]}}),
            "variants.Bad-Label: invalid variant label",
        ),
    ],
)
def test_wrong_types_give_dotted_paths(mutate: Any, path: str) -> None:
    doc = v020_doc()
    mutate(doc)
    with pytest.raises(InvalidMetadata, match=path):
        load_variants_json(json.dumps(doc), source="f.json")


# --------------------------------------------------------------------------- pyproject


def test_pyproject_v020_shape(variantlib_outputs_dir: Path) -> None:
    import tomllib

    doc = tomllib.loads((variantlib_outputs_dir / "tinypkg-pyproject.toml").read_text())
    md = load_pyproject(doc, source="pyproject.toml")
    assert md.generation is SchemaGeneration.PROVIDERS
    assert md.schema is None and md.variants == {}
    assert md.providers["toy"].kind is ProviderKind.INSTALL_TIME
    assert md.providers["blas"].kind is ProviderKind.STATIC


def test_pyproject_build_requires_allowed(variantlib_outputs_dir: Path) -> None:
    import tomllib

    doc = tomllib.loads((variantlib_outputs_dir / "aot-build-requires-pyproject.toml").read_text())
    md = load_pyproject(doc)
    assert md.providers["cpu"].kind is ProviderKind.AOT_PLUGIN
    assert to_v0_2_0_dict(md)["providers"]["cpu"] == {
        "build-requires": ["aot-cpu"],
        "plugin-api": "aot_cpu",
    }


def test_pyproject_pep817_shape() -> None:
    doc = pep817_doc()
    del doc["$schema"], doc["variants"]
    del doc["static-properties"]  # blas_lapack is an AoT provider *with* a plugin
    md = load_pyproject({"project": {"name": "x"}, "variant": doc})
    assert md.generation is SchemaGeneration.PEP817
    assert md.providers["blas_lapack"].install_time is False
    assert to_v0_2_0_dict(md)["providers"]["blas_lapack"] == {
        "build-requires": ["blas-lapack-variant-provider"]
    }


def test_pyproject_errors_use_variant_prefix() -> None:
    with pytest.raises(InvalidMetadata, match=r"^pyproject.toml: variant: no \[variant\] table"):
        load_pyproject({"project": {}}, source="pyproject.toml")
    with pytest.raises(InvalidMetadata, match=r"variant\.providers\.x\.requires: expected a list"):
        load_pyproject(
            {
                "variant": {
                    "default-priorities": {"namespace": ["x"]},
                    "providers": {"x": {"requires": 1}},
                }
            }
        )
    with pytest.raises(InvalidMetadata, match=r"mixes PEP 817 keys"):
        load_pyproject(
            {
                "variant": {
                    "default-priorities": {"namespace": ["x"]},
                    "providers": {"x": {"install-time": False, "static-properties": {"f": ["1"]}}},
                }
            }
        )


# --------------------------------------------------------------------------- writer


def test_dump_is_canonical_and_stable() -> None:
    doc = v020_doc()
    doc["variants"]["multi"] = {"x86_64": {"level": ["v3"], "ext": ["sse", "avx", "avx", "aes"]}}
    md = load_variants_json(doc)
    out = dump_json(md)
    assert out.endswith(b"}\n") and not out.endswith(b"\n\n")
    parsed = json.loads(out)
    assert parsed["$schema"] == SCHEMA_V0_2_0
    assert parsed["variants"]["multi"]["x86_64"]["ext"] == ["aes", "avx", "sse"]
    # preference lists keep their order; only variants' value lists are sorted
    assert parsed["providers"]["blas"]["static-properties"]["library"] == ["openblas", "mkl"]
    assert parsed["default-priorities"]["namespace"] == ["x86_64", "blas"]
    assert out == json.dumps(parsed, indent=4, sort_keys=True).encode() + b"\n"
    again = load_variants_json(out)
    assert dump_json(again) == out
    assert again.variants == md.variants and again.providers == md.providers
    shuffled = copy.deepcopy(doc)
    shuffled["variants"] = dict(reversed(list(doc["variants"].items())))
    assert dump_json(load_variants_json(shuffled)) == out


def test_dump_refuses_build_requires_with_variants() -> None:
    doc = v020_doc()
    doc["providers"]["x86_64"] = {"build-requires": ["x"]}
    md = load_pyproject(
        {"variant": {k: v for k, v in doc.items() if k not in ("$schema", "variants")}}
    )
    with_variants = load_variants_json(v020_doc())
    from dataclasses import replace

    bad = replace(with_variants, providers=md.providers)
    with pytest.raises(InvalidMetadata, match=r"build-requires"):
        dump_json(bad)


# --------------------------------------------------------------------------- fuzzing

_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "$schema",
        "default-priorities",
        "namespace",
        "providers",
        "variants",
        "requires",
        "static-properties",
        "feature-order",
        "plugin-api",
        "optional",
        "builtin",
        "install-time",
        "enable-if",
        "feature",
        "property",
        "x86_64",
        "level",
        "v3",
        "null",
        "build-requires",
    ]
)
_structured = st.recursive(
    _scalars | st.sampled_from([SCHEMA_V0_2_0, V003, V011, "v3", "x86_64"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=30,
)


def _only_varwheel_errors(call: Any) -> None:
    try:
        call()
    except VarwheelError as err:
        assert "\n" not in str(err)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_json | _structured)
def test_fuzz_loaders_raise_only_varwheel_errors(doc: Any) -> None:
    for loader in (load_variant_json, load_variants_json):
        _only_varwheel_errors(lambda loader=loader: loader(json.dumps(doc).encode()))
        if isinstance(doc, dict):
            _only_varwheel_errors(lambda loader=loader: loader(doc))
    _only_varwheel_errors(lambda: load_pyproject({"variant": doc}))


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one subtree replaced by random JSON."""
    doc = draw(st.sampled_from([v020_doc(), pep817_doc()]))
    doc = copy.deepcopy(doc)
    node: Any = doc
    for _ in range(draw(st.integers(0, 4))):
        if not isinstance(node, dict) or not node:
            break
        key = draw(st.sampled_from(sorted(node)))
        if draw(st.booleans()) or not isinstance(node[key], dict):
            node[key] = draw(_json)
            break
        node = node[key]
    return doc


@settings(max_examples=150, deadline=None)
@given(doc=_mutated())
def test_fuzz_mutated_documents(doc: dict[str, Any]) -> None:
    for loader in (load_variant_json, load_variants_json):
        _only_varwheel_errors(lambda loader=loader: loader(doc))
    try:
        md = load_variants_json(doc)
    except VarwheelError:
        return
    try:
        out = dump_json(md)
    except InvalidMetadata:
        return
    assert dump_json(load_variants_json(out)) == out


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_bytes(data: bytes) -> None:
    _only_varwheel_errors(lambda: parse_json(data))
    _only_varwheel_errors(lambda: load_variants_json(data))


_ident = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
_val = st.from_regex(r"[a-z0-9_.]{1,5}", fullmatch=True)


@st.composite
def _valid_v020(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid v0.2.0 document: every provider kind, multi-value features, null."""
    namespaces = draw(st.lists(_ident, min_size=1, max_size=4, unique=True))
    providers: dict[str, Any] = {}
    for ns in namespaces:
        kind = draw(st.sampled_from(["requires", "static", "builtin"]))
        if kind == "requires":
            entry: dict[str, Any] = {"requires": [f"{ns}-plugin>=1"]}
            if draw(st.booleans()):
                entry["plugin-api"] = f"{ns}_plugin:Plugin"
        elif kind == "static":
            feats = draw(st.lists(_ident, min_size=1, max_size=3, unique=True))
            entry = {
                "static-properties": {
                    f: draw(st.lists(_val, min_size=1, max_size=3, unique=True)) for f in feats
                }
            }
            if len(feats) > 1 or draw(st.booleans()):
                entry["feature-order"] = draw(st.permutations(feats))
        else:
            entry = {"builtin": ns}
        if draw(st.booleans()):
            entry["optional"] = True
        providers[ns] = entry
    variants: dict[str, Any] = {}
    for label in draw(st.lists(_ident, max_size=5, unique=True)):
        if label == "null":
            continue
        tree: dict[str, Any] = {}
        for ns in draw(st.lists(st.sampled_from(namespaces), min_size=1, max_size=2, unique=True)):
            for f in draw(st.lists(_ident, min_size=1, max_size=2, unique=True)):
                tree.setdefault(ns, {})[f] = draw(st.lists(_val, min_size=1, max_size=3))
        variants[label] = tree
    if draw(st.booleans()):
        variants["null"] = {}
    return {
        "$schema": draw(st.sampled_from([SCHEMA_V0_2_0, VARIANTLIB_V020])),
        "default-priorities": {"namespace": draw(st.permutations(namespaces))},
        "providers": providers,
        "variants": variants,
    }


@settings(max_examples=50, deadline=None)
@given(doc=_valid_v020())
def test_round_trip_of_random_valid_documents(doc: dict[str, Any]) -> None:
    md = load_variants_json(doc)
    out = dump_json(md)
    again = load_variants_json(out)
    assert again.variants == md.variants
    assert again.providers == md.providers
    assert again.namespace_priorities == md.namespace_priorities
    assert dump_json(again) == out
    written = json.loads(out)
    for label, tree in doc["variants"].items():
        for ns, feats in tree.items():
            for f, values in feats.items():
                assert written["variants"][label][ns][f] == sorted(set(values))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "not valid JSON: NaN is not a JSON value"),
        ('{"a": [Infinity]}', "not valid JSON: Infinity is not a JSON value"),
        (
            '\ufeff{"a": 1}',
            "starts with a UTF-8 byte order mark, which JSON text must not (RFC 8259 §8.1)",
        ),
        ("[" * 50_000 + "]" * 50_000, "not valid JSON: nested too deeply"),
    ],
)
def test_parse_json_rejects_what_json_does_not_allow(text: str, message: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(InvalidMetadata) as info:
            parse_json(data, source="f.json")
        assert str(info.value) == f"f.json: {message}"


def test_parse_json_reads_numbers_past_the_int_digit_limit() -> None:
    assert parse_json('{"a": ' + "7" * 5000 + ', "b": 12}') == {"a": float("inf"), "b": 12}
