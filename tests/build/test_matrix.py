"""``[tool.varwheel.build]``: structure, labels, properties against [variant] and providers."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from varwheel.build.matrix import (
    BuildKind,
    MatrixEntry,
    load_matrix,
    parse_matrix,
    property_problems,
    provider_configs,
    read_pyproject,
)
from varwheel.config import load_config
from varwheel.errors import InvalidBuildConfig, InvalidInput, InvalidMetadata
from varwheel.spec.metadata import load_pyproject
from varwheel.spec.properties import VariantProperty, default_label

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEMO = Path(__file__).parent / "data" / "demo" / "pyproject.toml"
X86 = {"requires": ["provider-variant-x86-64"]}


def project(*variants: dict[str, Any], **build: Any) -> dict[str, Any]:
    return {
        "build-system": {"build-backend": "setuptools.build_meta"},
        "variant": {
            "default-priorities": {"namespace": ["x86_64", "nvidia", "blas_lapack", "toy"]},
            "providers": {
                "x86_64": X86,
                "nvidia": {"requires": ["nvidia-variant-provider"]},
                "blas_lapack": {"static-properties": {"provider": ["openblas", "mkl"]}},
                "toy": {"requires": ["toy-variant-provider==0.1"]},
            },
        },
        "tool": {"varwheel": {"build": {"variants": list(variants), **build}}},
    }


def v(*props: str, **extra: Any) -> dict[str, Any]:
    return {"properties": list(props), **extra}


def test_demo_project_entries_in_order() -> None:
    matrix = load_matrix(read_pyproject(DEMO), source=str(DEMO))
    assert [e.name for e in matrix.entries] == [
        "x8664v2", "x8664v3", "x8664v4", "cu128", "f88e092c", "null", "non-variant",
    ]  # fmt: skip
    assert [e.kind for e in matrix.entries[-3:]] == [
        BuildKind.VARIANT,
        BuildKind.NULL,
        BuildKind.PLAIN,
    ]
    cu = matrix.entry("cu128")
    assert [str(p) for p in cu.properties] == [  # canonical order
        "nvidia :: cuda_version_lower_bound :: 12.8",
        "nvidia :: sm_arch :: 100_real",
        "nvidia :: sm_arch :: 90_real",
    ]
    # the unlabelled variant gets variantlib's hash label
    hashed = matrix.entry("f88e092c")
    assert default_label(hashed.properties) == "f88e092c"
    assert matrix.build_backend == "setuptools.build_meta"
    assert matrix.ships_null and matrix.ships_plain and not matrix.native


def test_settings_merge_provider_then_table_then_variant() -> None:
    matrix = load_matrix(read_pyproject(DEMO), source=str(DEMO))
    v4 = matrix.settings(matrix.entry("x8664v4"))
    assert v4.env["CFLAGS"] == "-march=x86-64-v4"  # from the x86_64 provider hook
    assert v4.env["DEMO_OPT"] == "3"  # variant env over the table's
    assert v4.config_settings["setup-args"] == ("-Dsimd=avx512", "-Dfast=true")
    v3 = matrix.settings(matrix.entry("x8664v3"))
    assert v3.env["DEMO_OPT"] == "1" and "setup-args" not in v3.config_settings
    plain = matrix.settings(matrix.entry("non-variant"))
    assert dict(plain.env) == {"DEMO_OPT": "1"}
    cu = matrix.settings(matrix.entry("cu128"))
    assert cu.env["CUDAARCHS"] == "100-real;90-real"


def test_project_env_overrides_provider_flags_key_by_key() -> None:
    doc = project(v("x86_64 :: level :: v3", label="v3", env={"CFLAGS": "-O3 -march=haswell"}))
    matrix = load_matrix(doc, source="p")
    settings = matrix.settings(matrix.entries[0])
    assert settings.env["CFLAGS"] == "-O3 -march=haswell"
    assert settings.env["CXXFLAGS"] == "-march=x86-64-v3"


def test_scikit_build_core_gets_cmake_defines() -> None:
    doc = project(v("nvidia :: sm_arch :: 90_real", "nvidia :: cuda_version_lower_bound :: 12.8",
                    label="cu"))  # fmt: skip
    doc["build-system"]["build-backend"] = "scikit_build_core.build:  "
    matrix = load_matrix(doc, source="p")
    assert matrix.build_backend == "scikit_build_core.build"
    settings = matrix.settings(matrix.entries[0])
    assert settings.config_settings["cmake.define.CMAKE_CUDA_ARCHITECTURES"] == "90-real"
    assert "variant" not in settings.config_settings  # never the backend's own variant keys


def test_defaults_plain_only_when_no_variants() -> None:
    matrix = load_matrix({"tool": {"varwheel": {"build": {}}}}, source="p")
    assert matrix.entries == (MatrixEntry(BuildKind.PLAIN, None),)


def test_static_provider_and_third_party_plugin() -> None:
    doc = project(
        v("blas_lapack :: provider :: mkl", label="mkl"),
        v("toy :: anything :: goes", label="toy"),  # not re-implemented: values unknown here
    )
    assert [e.label for e in load_matrix(doc, source="p").variants] == ["mkl", "toy"]
    md = load_pyproject(doc)
    assert provider_configs("toy", md.providers["toy"]) is None
    assert [c.name for c in provider_configs("nvidia", md.providers["nvidia"]) or ()] == [
        "cuda_version_lower_bound",
        "cuda_version_upper_bound",
        "sm_arch",
    ]


def test_provider_for_another_platform_is_still_checked() -> None:
    """A requirement marker excluding the build machine does not hide the provider's values."""
    doc = project(v("aarch64 :: version :: 9.9a", label="arm"))
    doc["variant"]["providers"]["aarch64"] = {
        "requires": ["provider-variant-aarch64 ; platform_machine == 'nonexistent'"]
    }
    doc["variant"]["default-priorities"]["namespace"].append("aarch64")
    with pytest.raises(InvalidBuildConfig, match=r"aarch64 :: version :: 9\.9a is not a value"):
        load_matrix(doc, source="p")


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown top key", project(nul_variant=True), "tool.varwheel.build",
     "unknown key 'nul_variant'"),
    ("unknown variant key", project(v("x86_64 :: level :: v3", lable="x")),
     "tool.varwheel.build.variants[0]", "unknown key 'lable' (did you mean 'label'?)"),
    ("properties missing", project({"label": "x"}), "tool.varwheel.build.variants[0]",
     "missing 'properties'"),
    ("properties empty", project(v(label="x")), "tool.varwheel.build.variants[0].properties",
     "null variant"),
    ("property syntax", project(v("x86_64 :: level")),
     "tool.varwheel.build.variants[0].properties[0]", "expected 'namespace :: feature :: value'"),
    ("property twice", project(v("x86_64 :: level :: v3", "x86_64::level::v3")),
     "tool.varwheel.build.variants[0].properties", "twice"),
    ("label grammar", project(v("x86_64 :: level :: v3", label="V3")),
     "tool.varwheel.build.variants[0].label", "must match"),
    ("label too long", project(v("x86_64 :: level :: v3", label="a" * 17)),
     "tool.varwheel.build.variants[0].label", "17 characters long"),
    ("label null", project(v("x86_64 :: level :: v3", label="null")),
     "tool.varwheel.build.variants[0].label", "reserved"),
    ("label reused", project(v("x86_64 :: level :: v3", label="a"),
                             v("x86_64 :: level :: v4", label="a")),
     "tool.varwheel.build.variants[1].label", "already used by tool.varwheel.build.variants[0]"),
    ("same properties twice", project(v("x86_64 :: level :: v3", label="a"),
                                      v("x86_64 :: level :: v3", label="b")),
     "tool.varwheel.build.variants[1].properties", "one label per property set"),
    ("undeclared namespace", project(v("cuda :: level :: v3")),
     "tool.varwheel.build.variants[0].properties", "no [variant.providers.cuda] entry"),
    ("unknown feature", project(v("x86_64 :: levle :: v3")),
     "tool.varwheel.build.variants[0].properties", "provider 'x86_64' has no feature 'levle'"),
    ("unknown value", project(v("x86_64 :: level :: v9")),
     "tool.varwheel.build.variants[0].properties", "x86_64 :: level :: v9 is not a value"),
    ("static value", project(v("blas_lapack :: provider :: accelerate")),
     "tool.varwheel.build.variants[0].properties", "blas_lapack :: provider :: accelerate"),
    ("single-valued", project(v("x86_64 :: level :: v3", "x86_64 :: level :: v4")),
     "tool.varwheel.build.variants[0].properties", "single-valued but lists v3, v4"),
    ("config-settings type", project(v("x86_64 :: level :: v3", **{"config-settings": {"a": 1}})),
     "tool.varwheel.build.variants[0].config-settings.a", "string or a non-empty list"),
    ("env name", project(**{"env": {"1X": "a"}}), "tool.varwheel.build.env",
     "invalid environment variable name '1X'"),
    ("env value", project(**{"env": {"X": 1}}), "tool.varwheel.build.env.X", "must be a string"),
    ("env newline", project(**{"env": {"X": "a\nb"}}), "tool.varwheel.build.env.X", "one line"),
    # a cloned project's matrix flows into CI jobs and the hook: no loader, interpreter or CI knobs
    *((f"env {name}", project(v("x86_64 :: level :: v3", env={name: "/tmp/evil"})),
       f"tool.varwheel.build.variants[0].env.{name}", f"{name} may not be set by the project")
      for name in ("LD_PRELOAD", "PYTHONPATH", "PATH", "DYLD_INSERT_LIBRARIES", "BASH_ENV",
                   "GITHUB_ENV", "PIP_INDEX_URL", "TWINE_PASSWORD", "pythonhome")),
    ("setting newline", project(**{"config-settings": {"k": ["a", "b\r"]}}),
     "tool.varwheel.build.config-settings.k", "one line"),
    ("flag type", project(**{"null-variant": "yes"}), "tool.varwheel.build.null-variant",
     "true or false"),
    ("nothing", project(**{"non-variant": False}), "tool.varwheel.build", "declares nothing"),
    ("variants type", {"tool": {"varwheel": {"build": {"variants": {"a": 1}}}}},
     "tool.varwheel.build.variants", "array of tables"),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "path", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_matrix_one_line_with_path(doc: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(InvalidBuildConfig) as info:
        load_matrix(doc, source="proj/pyproject.toml")
    err = info.value
    assert isinstance(err, InvalidInput)
    assert err.path == path
    assert reason in err.reason
    assert str(err).startswith(f"proj/pyproject.toml: {path}: ")
    assert "\n" not in str(err)


def test_missing_table_and_bad_variant_table() -> None:
    with pytest.raises(InvalidBuildConfig, match=r"^p: no \[tool\.varwheel\.build\] table"):
        load_matrix({"project": {"name": "x"}}, source="p")
    doc = project(v("x86_64 :: level :: v3"))
    doc["variant"]["providers"]["x86_64"] = {"requires": []}
    with pytest.raises(InvalidMetadata, match=r"^p: variant\.providers\.x86_64"):
        load_matrix(doc, source="p")


def test_parse_matrix_skips_provider_checks() -> None:
    doc = project(v("x86_64 :: level :: v9", label="v9"))
    assert parse_matrix(doc, source="p").variants[0].label == "v9"
    problems = property_problems(
        load_pyproject(doc), parse_matrix(doc, source="p").variants[0].properties
    )
    assert [p.code for p in problems] == ["unknown-value"]


def test_read_pyproject_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"pyproject\.toml: no such file"):
        read_pyproject(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool\n")
    with pytest.raises(InvalidInput, match="invalid TOML"):
        read_pyproject(tmp_path)


def test_project_config_ignores_the_build_table(tmp_path: Path) -> None:
    """[tool.varwheel] settings still load beside a [tool.varwheel.build] matrix."""
    text = DEMO.read_text() + '\n[tool.varwheel]\nprefer = ["x86_64 :: level :: v3"]\n'
    tomllib.loads(text)  # valid TOML: [tool.varwheel] declared after its sub-table
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / "c.toml").write_text("")
    config = load_config(cwd=tmp_path, environ={"VARWHEEL_CONFIG": str(tmp_path / "c.toml")})
    assert config.prefer == ("x86_64 :: level :: v3",)


_LEVELS = st.sampled_from(["v1", "v2", "v3", "v4"])
_FLAGS = st.sets(st.sampled_from(["avx2", "avx512f", "sse4_2", "fma", "bmi2"]), max_size=3)
_LABELS = st.from_regex(r"[0-9a-z_.]{1,16}", fullmatch=True).filter(lambda s: s != "null")


@given(st.lists(st.tuples(_LEVELS, _FLAGS, st.none() | _LABELS), min_size=1, max_size=6))
def test_any_valid_declaration_round_trips(items: list[tuple[str, set[str], str | None]]) -> None:
    seen_labels: set[str] = set()
    seen_props: set[frozenset[str]] = set()
    variants = []
    for level, flags, label in items:
        props = [f"x86_64 :: level :: {level}", *(f"x86_64 :: {f} :: on" for f in sorted(flags))]
        key = frozenset(props)
        final = label if label is not None else default_label(map(VariantProperty.parse, props))
        if key in seen_props or final in seen_labels:
            continue
        seen_props.add(key)
        seen_labels.add(final)
        variants.append(v(*props, **({"label": label} if label else {})))
    doc = project(*variants)
    matrix = load_matrix(copy.deepcopy(doc), source="p")
    assert len(matrix.variants) == len(variants)
    for entry, raw in zip(matrix.variants, variants, strict=True):
        assert {str(p) for p in entry.properties} == set(raw["properties"])
        assert entry.label == raw.get("label", default_label(entry.properties))


_SCALARS = st.one_of(
    st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.just("x86_64 :: level :: v3"), st.just("nvidia :: sm_arch :: 90_real"),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["label", "properties", "env", "config-settings", "x", "CFLAGS", ""]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_TABLES = st.dictionaries(
    st.sampled_from(["variants", "null-variant", "non-variant", "native", "env",
                     "config-settings", "other"]),
    _VALUES | st.lists(st.dictionaries(st.sampled_from(["label", "properties", "env",
                                                        "config-settings"]), _VALUES)),
    max_size=5,
)  # fmt: skip


@given(_TABLES)
def test_any_table_loads_or_fails_with_one_line(table: dict[str, Any]) -> None:
    """Whatever TOML holds, the loader returns a matrix or raises a one-line InvalidInput."""
    doc = project()
    doc["tool"]["varwheel"]["build"] = table
    try:
        matrix = load_matrix(doc, source="p")
    except InvalidInput as exc:
        assert "\n" not in str(exc) and str(exc).startswith("p: ")
    else:
        assert matrix.entries
