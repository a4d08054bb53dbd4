"""Fuzz every spec/ parser with hostile shapes (issue 7 "Inputs"): integers past ``int()``'s
digit limit, NUL and control characters, very long strings, deep nesting, invalid UTF-8 and byte
order marks. Only ``VarwheelError`` subclasses may escape, each with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.hostile import (
    HUGE,
    TOML_HOSTILE_VALUES,
    hostile_text,
    json_documents,
    mutate_json,
)
from varwheel.errors import VarwheelError
from varwheel.safeparse import TomlError, toml_loads
from varwheel.spec.filenames import (
    parse_variants_json_filename,
    parse_wheel_filename,
    variants_json_filename,
)
from varwheel.spec.markers import VariantEnvironment, evaluate_marker, requirement_applies
from varwheel.spec.metadata import (
    dump_json,
    load_pyproject,
    load_variant_json,
    load_variants_json,
    to_v0_2_0,
)
from varwheel.spec.model import SCHEMA_V0_2_0
from varwheel.spec.ordering import ForbidPattern
from varwheel.spec.properties import VariantFeature, VariantProperty, validate_label

V003 = "https://variants-schema.wheelnext.dev/v0.0.3.json"
V011 = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"


def only_varwheel_errors(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a ``VarwheelError`` is fine when its message is one line, anything else fails."""
    try:
        return fn()
    except VarwheelError as err:
        message = str(err)
        assert message and "\n" not in message and "\r" not in message, repr(message[:300])
        return None


# --------------------------------------------------------------------------- filenames

_NAME_PIECES = ("demo", "-", "1.0", "-py3", "-none", "-any", ".whl", "-variants.json", "-1a")


@settings(max_examples=400, deadline=None)
@given(hostile_text(_NAME_PIECES))
def test_filenames(text: str) -> None:
    only_varwheel_errors(lambda: parse_wheel_filename(text))
    only_varwheel_errors(lambda: parse_wheel_filename(f"demo-{text}-py3-none-any.whl"))
    only_varwheel_errors(lambda: parse_wheel_filename(f"demo-1.0-py3-none-any-{text}.whl"))
    only_varwheel_errors(lambda: parse_variants_json_filename(text))
    only_varwheel_errors(lambda: parse_variants_json_filename(f"demo-{text}-variants.json"))
    only_varwheel_errors(lambda: variants_json_filename("demo", text))
    only_varwheel_errors(lambda: variants_json_filename(text, "1.0"))


# --------------------------------------------------------------------------- properties, labels

_PROP_PIECES = ("nvidia", " :: ", "::", "sm_arch", "90", ".", "_", " ", "null")


@settings(max_examples=300, deadline=None)
@given(hostile_text(_PROP_PIECES))
def test_properties_and_labels(text: str) -> None:
    only_varwheel_errors(lambda: VariantProperty.parse(text))
    only_varwheel_errors(lambda: VariantFeature.parse(text))
    only_varwheel_errors(lambda: validate_label(text))
    only_varwheel_errors(lambda: ForbidPattern.parse(text))


# --------------------------------------------------------------------------- markers

_MARKER_PIECES = (
    "python_version",
    "platform_release",
    "extra",
    "variant_namespaces",
    "variant_features",
    "variant_properties",
    "variant_label",
    " in ",
    " not in ",
    " and ",
    " or ",
    " == ",
    " >= ",
    " < ",
    " ~= ",
    " === ",
    '"',
    "'",
    "(",
    ")",
    '"3.9"',
    f'"{HUGE}"',
    f'"1.{HUGE}"',
    '"nvidia :: sm_arch :: 90"',
    "'x86_64'",
    f'python_version > "{HUGE}"',
    f"platform_release <= '1.{HUGE}'",
    f'"{HUGE}" in variant_namespaces',
    f"variant_label == '{HUGE}'",
)


@settings(max_examples=400, deadline=None)
@given(hostile_text(_MARKER_PIECES, max_parts=10))
def test_markers(text: str) -> None:
    variant = VariantEnvironment("abc", frozenset({VariantProperty("nvidia", "sm_arch", "90")}))
    env = {"python_version": "3.12", "platform_release": "6.1.0"}
    only_varwheel_errors(lambda: evaluate_marker(text, env, variant))
    only_varwheel_errors(lambda: requirement_applies(f"demo; {text}", env, variant))
    only_varwheel_errors(lambda: requirement_applies(f"demo{text}", env, variant, {"x"}))
    only_varwheel_errors(lambda: requirement_applies(text, env, VariantEnvironment.null()))


# --------------------------------------------------------------------------- JSON metadata

V020_DOC = {
    "$schema": SCHEMA_V0_2_0,
    "default-priorities": {"namespace": ["nvidia", "blas"]},
    "providers": {
        "nvidia": {
            "requires": ["nvidia-variant-provider>=0.1; python_version >= '3.9'"],
            "plugin-api": "nvidia_variant_provider.plugin:NvidiaPlugin",
            "optional": True,
        },
        "blas": {"static-properties": {"lib": ["mkl", "openblas"]}},
    },
    "variants": {
        "cu12": {"nvidia": {"cuda_version_lower_bound": ["12.0"]}, "blas": {"lib": ["mkl"]}},
        "null": {},
    },
}
V003_DOC = {
    "$schema": V003,
    "default-priorities": {
        "namespace": ["x86_64", "blas"],
        "feature": {"blas": ["lib"]},
        "property": {"blas": {"lib": ["openblas"]}},
    },
    "providers": {
        "x86_64": {"requires": ["provider-x86-64"], "enable-if": "platform_machine == 'x86_64'"},
        "blas": {"install-time": False},
    },
    "static-properties": {"blas": {"lib": ["mkl", "openblas"]}},
    "variants": {"v3": {"x86_64": {"level": ["v3"]}}, "00000000": {}},
}
V011_DOC = {
    "$schema": V011,
    "default-priorities": {"namespace": ["x86_64"]},
    "variants": {"v3": {"x86_64": {"level": ["v3"]}}},
}
VARIANT_JSON_DOC = {**V020_DOC, "variants": {"cu12": V020_DOC["variants"]["cu12"]}}

_docs = st.one_of(json_documents(V020_DOC), json_documents(V003_DOC), json_documents(V011_DOC))


@settings(max_examples=400, deadline=None)
@given(_docs)
def test_variants_json_loader(data: bytes) -> None:
    md = only_varwheel_errors(lambda: load_variants_json(data, source="demo-1.0-variants.json"))
    if md is not None:
        only_varwheel_errors(lambda: to_v0_2_0(md))
        only_varwheel_errors(lambda: dump_json(md))


@settings(max_examples=300, deadline=None)
@given(json_documents(VARIANT_JSON_DOC))
def test_variant_json_loader(data: bytes) -> None:
    only_varwheel_errors(lambda: load_variant_json(data, source="x.dist-info/variant.json"))


@settings(max_examples=200, deadline=None)
@given(mutate_json(V020_DOC))
def test_loader_on_parsed_mappings(doc: Any) -> None:
    # the same documents handed over already parsed (a TOML table, a cached dict)
    only_varwheel_errors(lambda: load_variants_json(doc))


# --------------------------------------------------------------------------- pyproject [variant]

PYPROJECT = """\
[project]
name = "demo"

[variant.default-priorities]
namespace = ["nvidia", "blas"]

[variant.providers.nvidia]
requires = ["nvidia-variant-provider>=0.1"]
plugin-api = "nvidia_variant_provider.plugin:NvidiaPlugin"

[variant.providers.blas]
static-properties = {{ lib = ["mkl"] }}
optional = {value}
"""


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.sampled_from(TOML_HOSTILE_VALUES),
        hostile_text(max_parts=3).map(lambda t: '"' + t.replace('"', "") + '"'),
    ),
    st.sampled_from(["optional = {value}", "requires = [{value}]", "x = {value}"]),
)
def test_pyproject_loader(value: str, line: str) -> None:
    text = PYPROJECT.replace("optional = {value}", line).format(value=value)
    try:
        doc = toml_loads(text)
    except TomlError as err:
        assert "\n" not in str(err)
        return
    only_varwheel_errors(lambda: load_pyproject(doc, source="pyproject.toml"))
