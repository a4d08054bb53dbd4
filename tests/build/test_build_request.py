"""Validating a variant request against [variant] and the providers' get_all_configs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from varwheel.build.errors import InvalidBuildRequest
from varwheel.build.request import MAX_LABEL_LENGTH, check_build_label, resolve_request
from varwheel.errors import InvalidLabel
from varwheel.spec.metadata import dump_json, load_pyproject, load_variant_json
from varwheel.spec.model import ProviderKind
from varwheel.spec.properties import VariantProperty, default_label

P = VariantProperty.parse

NVIDIA = {
    "requires": ["nvidia-variant-provider"],
    "plugin-api": "nvidia_variant_provider.plugin:NvidiaVariantPlugin",
}


def project(providers: dict, namespaces: list[str] | None = None):
    return load_pyproject(
        {
            "variant": {
                "default-priorities": {"namespace": namespaces or sorted(providers)},
                "providers": providers,
            }
        },
        source="demo/pyproject.toml",
    )


X86 = project({"x86_64": {"requires": ["x86-64-variant-provider"]}})


def test_a_valid_request_gets_its_label_and_variant_json_metadata() -> None:
    req = resolve_request(X86, [P("x86_64 :: level :: v3")], label="x8664v3")
    assert req.label == "x8664v3" and not req.is_null
    assert req.metadata.variants == {"x8664v3": (P("x86_64 :: level :: v3"),)}
    document = json.loads(dump_json(req.metadata))
    assert document["variants"] == {"x8664v3": {"x86_64": {"level": ["v3"]}}}
    assert load_variant_json(dump_json(req.metadata)).providers.keys() == {"x86_64"}


def test_default_label_and_null() -> None:
    props = [P("x86_64 :: level :: v2"), P("x86_64 :: avx2 :: on")]
    assert resolve_request(X86, props).label == default_label(props)
    null = resolve_request(X86, [], null=True)
    assert null.label == "null" and null.is_null and null.metadata.variants == {"null": ()}


@pytest.mark.parametrize(
    ("props", "kwargs", "match"),
    [
        (["x86_64 :: level :: v9"], {}, r"does not know value 'v9' \(known: v4, v3, v2, v1\)"),
        (["x86_64 :: speed :: fast"], {}, "has no feature 'speed'"),
        (["x86_64 :: level :: v3", "x86_64 :: level :: v4"], {}, "not multi-value"),
        (["nvidia :: sm_arch :: 90_real"], {}, "namespace 'nvidia' has no provider in "
         r"\[variant.providers\] of demo/pyproject.toml"),
        ([], {}, "needs properties"),
        (["x86_64 :: level :: v3"], {"null": True}, "null variant has no properties"),
    ],
)  # fmt: skip
def test_refused_requests(props: list[str], kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidBuildRequest, match=match):
        resolve_request(X86, [P(p) for p in props], **kwargs)


@pytest.mark.parametrize(
    ("label", "props", "match"),
    [
        ("a" * 17, ["x86_64 :: level :: v3"], "17 characters long; at most 16"),
        ("null", ["x86_64 :: level :: v3"], "reserved"),
        ("X8664", ["x86_64 :: level :: v3"], "must match"),
        ("x-y", ["x86_64 :: level :: v3"], "must match"),
    ],
)
def test_label_grammar(label: str, props: list[str], match: str) -> None:
    with pytest.raises(InvalidLabel, match=match):
        resolve_request(X86, [P(p) for p in props], label=label)


def test_null_variant_cannot_take_another_label() -> None:
    with pytest.raises(InvalidLabel, match="'null'"):
        resolve_request(X86, [], null=True, label="empty")


@given(st.from_regex(r"[0-9a-z_.]{1,30}", fullmatch=True))
def test_check_build_label_accepts_exactly_the_short_grammatical_labels(label: str) -> None:
    props = [P("x86_64 :: level :: v3")]
    if label == "null":
        with pytest.raises(InvalidLabel):
            check_build_label(label, props)
    elif len(label) > MAX_LABEL_LENGTH:
        with pytest.raises(InvalidLabel, match="at most 16"):
            check_build_label(label, props)
    else:
        assert check_build_label(label, props) == label


def test_multi_value_feature_of_a_native_provider() -> None:
    md = project({"nvidia": NVIDIA})
    req = resolve_request(
        md, [P("nvidia :: sm_arch :: 90_real"), P("nvidia :: sm_arch :: 80_real")]
    )
    assert [p.value for p in req.properties] == ["80_real", "90_real"]
    with pytest.raises(InvalidBuildRequest, match="not multi-value"):
        resolve_request(
            md,
            [
                P("nvidia :: cuda_version_lower_bound :: 12.4"),
                P("nvidia :: cuda_version_lower_bound :: 12.8"),
            ],
        )


def test_build_time_provider_is_inlined_as_static_properties() -> None:
    md = project(
        {
            "blas_lapack": {"build-requires": ["blas-lapack-variant-provider"]},
            "x86_64": {"requires": ["x86-64-variant-provider"]},
        }
    )
    assert md.providers["blas_lapack"].kind is ProviderKind.AOT_PLUGIN
    req = resolve_request(
        md, [P("blas_lapack :: provider :: mkl"), P("x86_64 :: level :: v3")], label="mkl_v3"
    )
    info = req.metadata.providers["blas_lapack"]
    assert info.kind is ProviderKind.STATIC
    assert info.static_properties == {"provider": ("accelerate", "openblas", "mkl")}
    written = json.loads(dump_json(req.metadata))
    assert written["providers"]["blas_lapack"] == {
        "static-properties": {"provider": ["accelerate", "openblas", "mkl"]}
    }
    with pytest.raises(InvalidBuildRequest, match="does not know value 'atlas'"):
        resolve_request(md, [P("blas_lapack :: provider :: atlas")])


def test_static_properties_declared_in_pyproject_are_the_known_values() -> None:
    md = project({"omp": {"static-properties": {"impl": ["gnu", "llvm"]}}})
    assert resolve_request(md, [P("omp :: impl :: llvm")]).label == default_label(
        [P("omp :: impl :: llvm")]
    )
    with pytest.raises(InvalidBuildRequest, match="does not know value 'intel'"):
        resolve_request(md, [P("omp :: impl :: intel")])


def test_an_untrusted_third_party_plugin_cannot_validate() -> None:
    md = project({"acme": {"requires": ["acme-variant-provider==1.0"]}})
    with pytest.raises(InvalidBuildRequest, match="--trust-provider") as err:
        resolve_request(md, [P("acme :: speed :: fast")])
    assert "\n" not in str(err.value)
    # opting out keeps the namespace rule, skips the value check
    req = resolve_request(md, [P("acme :: speed :: fast")], label="fast", validate=False)
    assert req.label == "fast"
    with pytest.raises(InvalidBuildRequest, match="no provider"):
        resolve_request(md, [P("other :: speed :: fast")], validate=False)


@pytest.mark.slow
def test_a_trusted_plugin_validates_the_request(tmp_path, variantlib_outputs_dir) -> None:
    """A third-party plugin (the real toy-variant-provider wheel) is installed from its exact pin
    and asked for its all-configs, as install asks it for its supported ones."""
    from varwheel.providers.runner import PluginSource

    md = project({"toy": {"requires": ["toy-variant-provider==0.1.0"]}})
    access = {
        "trusted": ("toy-variant-provider==0.1.0",),
        "plugin_source": PluginSource(
            no_index=True, find_links=(str(variantlib_outputs_dir / "wheels"),)
        ),
        "cache_dir": tmp_path / "cache",
    }
    req = resolve_request(
        md, [P("toy :: level :: v2"), P("toy :: accel :: cuda12"), P("toy :: accel :: rocm6")],
        label="v2_gpu", **access,
    )  # fmt: skip
    assert req.label == "v2_gpu" and len(req.properties) == 3  # accel is multi-value
    with pytest.raises(InvalidBuildRequest, match="does not know value 'v9'"):
        resolve_request(md, [P("toy :: level :: v9")], **access)
    with pytest.raises(InvalidBuildRequest, match="not multi-value"):
        resolve_request(md, [P("toy :: level :: v2"), P("toy :: level :: v3")], **access)
    with pytest.raises(InvalidBuildRequest, match="--trust-provider"):  # a pin for another version
        resolve_request(
            md, [P("toy :: level :: v2")], **{**access, "trusted": ("toy-variant-provider==0.2.0",)}
        )
