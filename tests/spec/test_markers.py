"""Variant environment markers (PEP 817 / PEP 825) evaluated on stock packaging."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import InvalidMarker as PackagingInvalidMarker
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from variantlib.api import get_variant_environment_dict
from variantlib.models.variant import VariantDescription
from variantlib.models.variant import VariantProperty as VLProperty

from varwheel.errors import InvalidLabel, InvalidMarker
from varwheel.spec.compat import SupportedProperties
from varwheel.spec.markers import (
    VariantEnvironment,
    evaluate_marker,
    filter_supported,
    requirement_applies,
)
from varwheel.spec.properties import VariantFeature, VariantProperty

P = VariantProperty.parse
ENV = {"python_version": "3.11", "python_full_version": "3.11.4", "sys_platform": "linux"}
FOOBAR = VariantEnvironment("foobar", frozenset({P("foo :: bar :: baz"), P("foo :: qux :: 1.2")}))
NON_VARIANT = VariantEnvironment.non_variant()
NULL = VariantEnvironment.null()
CU128 = VariantEnvironment(
    "cu128",
    frozenset(
        {P("nvidia :: cuda_version_lower_bound :: 12.8"), P("nvidia :: sm_arch :: 120_real")}
    ),
)


def applies(marker: str, variant: VariantEnvironment, env: dict[str, str] | None = None) -> bool:
    return evaluate_marker(marker, ENV if env is None else env, variant)


# --- conformance checklist (shared/reference/spec-digest.md §10) ------------------------------


@pytest.mark.parametrize(
    "line",
    [
        'dep; "nvidia" in variant_namespaces',
        'dep; "nvidia :: sm_arch" in variant_features',
        'dep; "nvidia :: sm_arch :: 120_real" in variant_properties',
        'dep; variant_label == "cu128"',
    ],
)
def test_checklist_57_variant_markers_recognised_in_requires_dist(line: str) -> None:
    with pytest.raises(InvalidRequirement):  # stock packaging alone cannot do it
        Requirement(line)
    req = requirement_applies(line, ENV, CU128)
    assert req is not None and str(req) == "dep" and req.marker is None
    assert requirement_applies(line, ENV, NON_VARIANT) is None


@pytest.mark.parametrize(
    "marker",
    [
        'variant_namespaces == "nvidia"',
        '"nvidia" == variant_namespaces',
        'variant_features != "a :: b"',
        '"a :: b :: c" >= variant_properties',
        '"nvidia" ~= variant_namespaces',
        'variant_namespaces in "nvidia"',
        'variant_namespaces not in "nvidia"',
        "python_version in variant_namespaces",
        "variant_label in variant_features",
    ],
)
def test_checklist_58_set_markers_only_in_and_not_in(marker: str) -> None:
    with pytest.raises(InvalidMarker, match=re.escape(repr(marker))):
        applies(marker, CU128)
    with pytest.raises(InvalidMarker, match=re.escape(repr(f"dep; {marker}"))):
        requirement_applies(f"dep; {marker}", ENV, CU128)


def test_checklist_58_in_and_not_in_work() -> None:
    assert applies('"nvidia" in variant_namespaces', CU128)
    assert not applies('"nvidia" not in variant_namespaces', CU128)
    assert applies('"amd" not in variant_namespaces', CU128)


@pytest.mark.parametrize(
    "spelling",
    [
        '"foo::bar::baz" in variant_properties',
        '"foo :: bar :: baz" in variant_properties',
        '"  foo ::bar::\tbaz " in variant_properties',
        "'foo::bar ::baz' in variant_properties",
        '"foo::bar::baz"in variant_properties',
        '( "foo::bar::baz"   in   variant_properties )',
    ],
)
def test_checklist_59_whitespace_insensitive(spelling: str) -> None:
    assert applies(spelling, FOOBAR)
    assert applies(spelling.replace("baz", "nope"), FOOBAR) is False
    assert applies('"foo::bar" in variant_features', FOOBAR)
    assert applies('" foo :: qux " in variant_features', FOOBAR)
    assert applies('" foo " in variant_namespaces', FOOBAR)


def test_checklist_60_non_variant_and_null_environments() -> None:
    assert (NON_VARIANT.label, NON_VARIANT.properties) == ("", frozenset())
    assert (NULL.label, NULL.properties, NULL.namespaces, NULL.features) == (
        "null",
        frozenset(),
        frozenset(),
        frozenset(),
    )
    for env in (NON_VARIANT, NULL):
        assert not applies('"foo" in variant_namespaces', env)
        assert applies('"foo" not in variant_namespaces', env)
        assert applies('"foo :: bar" not in variant_features', env)
        assert applies('"foo :: bar :: baz" not in variant_properties', env)
    assert applies('variant_label == ""', NON_VARIANT)
    assert not applies('variant_label == ""', NULL)
    assert applies('variant_label != "null"', NON_VARIANT)
    assert not applies('variant_label != "null"', NULL)
    assert VariantEnvironment.for_wheel(None, [P("a :: b :: c")]) == NON_VARIANT


def test_checklist_61_markers_see_only_supported_properties() -> None:
    # PEP 825 "Environment markers", sm_arch example: the wheel lists 120_real and 110_real,
    # the target supports only 110_real.
    wheel_props = [P("nvidia :: sm_arch :: 120_real"), P("nvidia :: sm_arch :: 110_real")]
    supported = SupportedProperties.from_properties([P("nvidia :: sm_arch :: 110_real")])
    env = VariantEnvironment.for_wheel("sm", wheel_props, supported)
    assert env.properties == {P("nvidia :: sm_arch :: 110_real")}
    assert not applies('"nvidia :: sm_arch :: 120_real" in variant_properties', env)
    assert applies('"nvidia :: sm_arch :: 110_real" in variant_properties', env)
    assert applies('"nvidia :: sm_arch" in variant_features', env)  # never removes a feature
    line = 'fast-gemm; "nvidia :: sm_arch :: 120_real" in variant_properties'
    assert requirement_applies(line, ENV, env) is None
    both = VariantEnvironment.for_wheel("sm", wheel_props, dict(supported.properties))
    assert both == env  # a plain mapping works as well as SupportedProperties
    # PEP 817 behaviour (no filtering) when no supported set is given.
    unfiltered = VariantEnvironment.for_wheel("sm", wheel_props)
    assert applies('"nvidia :: sm_arch :: 120_real" in variant_properties', unfiltered)


def variant_json_fixtures(outputs: Path) -> list[tuple[str, list[VariantProperty]]]:
    """(label, properties) of each valid ``variant.json`` variantlib 0.2.2 wrote."""
    found = []
    for path in sorted((outputs / "variant-json").glob("variant.json.*")):
        if "INVALID" in path.name:
            continue
        ((label, table),) = json.loads(path.read_text(encoding="utf-8"))["variants"].items()
        props = [
            VariantProperty.make(ns, feature, value)
            for ns, features in table.items()
            for feature, values in features.items()
            for value in values
        ]
        found.append((label, props))
    return found


def test_environment_matches_variantlib_on_its_own_artefacts(variantlib_outputs_dir: Path) -> None:
    fixtures = variant_json_fixtures(variantlib_outputs_dir)
    assert {label for label, _ in fixtures} >= {"null", "mkl", "v2_cuda_openblas", "89de6e32"}
    for label, props in fixtures:
        desc = VariantDescription(
            properties=[
                VLProperty(namespace=p.namespace, feature=p.feature, value=p.value) for p in props
            ],
            label=label,
        )
        theirs = get_variant_environment_dict(desc)
        env = VariantEnvironment.for_wheel(label, props)  # PEP 817 view: variantlib does not filter
        assert env.label == theirs["variant_label"]
        assert env.namespaces == theirs["variant_namespaces"]
        assert {str(f) for f in env.features} == theirs["variant_features"]
        assert {str(p) for p in env.properties} == theirs["variant_properties"]
        for key in ("variant_namespaces", "variant_features", "variant_properties"):
            for item in theirs[key]:
                assert applies(f'"{item}" in {key}', env)
                assert applies(f'"{item.replace(" ", "")}" in {key}', env)
        assert applies('"toy :: level :: v9" not in variant_properties', env)


# --- PEP examples -----------------------------------------------------------------------------

PEP_825_EXAMPLES = [
    ('variant_label == "foobar"', {"foobar"}),
    ('variant_label != "null"', {"foobar", "non-variant", "other"}),
    ('variant_label == ""', {"non-variant"}),
    ('"foo" in variant_namespaces', {"foobar", "other"}),
    ('"foo :: bar" in variant_features', {"foobar", "other"}),
    ('"foo :: bar :: baz" in variant_properties', {"foobar"}),
    ('"foo::bar::baz" in variant_properties', {"foobar"}),
]
ENVIRONMENTS = {
    "foobar": FOOBAR,
    "null": NULL,
    "non-variant": NON_VARIANT,
    "other": VariantEnvironment("other", frozenset({P("foo :: bar :: nope")})),
}


@pytest.mark.parametrize(("marker", "satisfied_by"), PEP_825_EXAMPLES)
def test_pep_825_examples(marker: str, satisfied_by: set[str]) -> None:
    got = {name for name, env in ENVIRONMENTS.items() if applies(marker, env)}
    assert got == satisfied_by


# --- combining with ordinary PEP 508 markers --------------------------------------------------


def test_combined_with_pep_508_markers_and_precedence() -> None:
    marker = '"nvidia" in variant_namespaces and python_version >= "3.10"'
    assert applies(marker, CU128)
    assert not applies(marker, CU128, {**ENV, "python_version": "3.9"})
    # ``and`` binds tighter than ``or``.
    assert applies(
        '"x" in variant_namespaces and python_version < "3" or variant_label == "cu128"', CU128
    )
    assert not applies(
        '"x" in variant_namespaces and (python_version < "3" or variant_label == "cu128")', CU128
    )
    assert applies(
        '(sys_platform == "linux" or sys_platform == "win32") and "cu" in variant_label', CU128
    )
    assert not applies('sys_platform == "win32" or "cu" not in variant_label', CU128)


def test_variant_label_compares_like_a_packaging_string_marker() -> None:
    for op in ("==", "!=", "<", "<=", ">", ">=", "in", "not in"):
        for literal in ("cu128", "cu", "cu129", "", "null"):
            for flip in (False, True):
                ours = (
                    f'variant_label {op} "{literal}"'
                    if not flip
                    else f'"{literal}" {op} variant_label'
                )
                stock = ours.replace("variant_label", "platform_machine")
                for label in ("cu128", "null", ""):
                    env = VariantEnvironment(label) if label else NON_VARIANT
                    expected = Marker(stock).evaluate({**ENV, "platform_machine": label})
                    assert applies(ours, env) is expected, (ours, label)
    for bad in ('variant_label ~= "1.0"', 'variant_label === "cu128"'):
        with pytest.raises(InvalidMarker, match="cannot evaluate"):
            applies(bad, CU128)


def test_extras_through_argument_and_environment() -> None:
    line = 'dep[x]>=1; extra == "gpu" and "nvidia" in variant_namespaces'
    assert requirement_applies(line, ENV, CU128) is None
    req = requirement_applies(line, ENV, CU128, extras={"GPU"})
    assert req is not None and str(req) == "dep[x]>=1" and req.marker is None
    assert requirement_applies(line, {**ENV, "extra": "gpu"}, CU128) is not None
    assert requirement_applies(line, ENV, NON_VARIANT, extras={"gpu"}) is None
    assert applies('extra == "gpu"', CU128, {**ENV, "extra": "GPU"})
    plain = requirement_applies('dep; python_version >= "3"', ENV, CU128, extras={"gpu"})
    assert plain is not None and str(plain) == "dep"


def test_requirement_without_marker_and_url_requirements() -> None:
    assert str(requirement_applies("dep[a,b] (>=1,<2)", ENV, CU128)) == "dep[a,b]<2,>=1"
    url = "dep @ https://example.invalid/a;b/dep-1.0-py3-none-any.whl"
    req = requirement_applies(url, ENV, CU128)
    assert req is not None and req.url == url.split(" @ ")[1]
    gated = requirement_applies(f'{url} ; variant_label == "cu128"', ENV, CU128)
    assert gated is not None and gated.url == url.split(" @ ")[1]
    assert requirement_applies(f'{url} ; variant_label == "x"', ENV, CU128) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("dep>=; python_version > '3'", "invalid requirement"),
        ("dep;", "invalid marker"),
        ('dep; "Nvidia" in variant_namespaces', "bad literal for variant_namespaces"),
        ('dep; "nvidia" in variant_features', "bad literal for variant_features"),
        ('dep; "a :: b" in variant_properties', "bad literal for variant_properties"),
        ("dep; variant_label == python_version", "compared with a quoted string"),
        ('dep; "x" in variant_namespaces and', "unexpected end"),
        ('dep; ("x" in variant_namespaces', "unexpected end"),
        ('dep; "x" in variant_namespaces)', "unexpected ')'"),
        ('dep; "x" in variant_namespaces or foo == "1"', "Expected a marker variable"),
        ('dep; "x" not variant_namespaces', "expected 'in' after 'not'"),
        ('dep; "x" in variant_namespaces & "y"', "unexpected '&"),
        ('dep; "x in variant_namespaces', "unexpected"),
        (
            'dep; "x" in variant_namespaces and '
            + "(" * 100
            + '"y" in variant_namespaces'
            + ")" * 100,
            "nested deeper",
        ),
    ],
)
def test_errors_name_the_requirement(text: str, reason: str) -> None:
    with pytest.raises(InvalidMarker) as info:
        requirement_applies(text, ENV, CU128)
    message = str(info.value)
    assert repr(text) in message and reason in message and "\n" not in message


def test_deep_plain_marker_is_an_invalid_marker_not_a_recursion_error() -> None:
    marker = "(" * 3000 + 'python_version > "3"' + ")" * 3000
    with pytest.raises(InvalidMarker, match="nested deeper"):
        applies(marker, NON_VARIANT)
    assert applies("(" * 40 + 'python_version > "3"' + ")" * 40, NON_VARIANT)


def test_environment_rejects_bad_label() -> None:
    with pytest.raises(InvalidLabel):
        VariantEnvironment("CU128")


def test_filter_supported() -> None:
    props = [P("a :: f :: 1"), P("a :: f :: 2"), P("a :: g :: x"), P("b :: f :: 1")]
    table = {"a": {"f": ("2", "3"), "g": ("x",)}}
    assert filter_supported(props, table) == {P("a :: f :: 2"), P("a :: g :: x")}
    assert filter_supported(props, {}) == frozenset()
    env = VariantEnvironment("lbl", filter_supported(props, table))
    assert env.namespaces == {"a"}
    assert env.features == {VariantFeature("a", "f"), VariantFeature("a", "g")}


def test_stock_packaging_is_left_alone() -> None:
    applies('"nvidia" in variant_namespaces', CU128)
    with pytest.raises(PackagingInvalidMarker):
        Marker('"nvidia" in variant_namespaces')


# --- property-based ---------------------------------------------------------------------------

PLAIN_ATOMS = {
    'python_version >= "3.0"': True,
    'python_version < "3.0"': False,
    "sys_platform == 'linux'": True,
    'os_name == "nt"': False,
    '"3.11" == python_version': True,
}
VARIANT_ATOMS = {
    '"foo" in variant_namespaces': True,
    '"bar" in variant_namespaces': False,
    '"foo :: bar" not in variant_features': False,
    '"foo :: bar :: baz" in variant_properties': True,
    '"foo :: bar :: nope" in variant_properties': False,
    'variant_label == "foobar"': True,
    'variant_label != "foobar"': False,
}
ATOMS = {**PLAIN_ATOMS, **VARIANT_ATOMS}
ENV_FOR_TREES = {**ENV, "os_name": "posix"}


@dataclass(frozen=True)
class Tree:
    op: str  # "atom", "and", "or"
    atom: str = ""
    children: tuple[Tree, ...] = ()

    def value(self) -> bool:
        if self.op == "atom":
            return ATOMS[self.atom]
        results = [c.value() for c in self.children]
        return all(results) if self.op == "and" else any(results)


def trees() -> st.SearchStrategy[Tree]:
    leaves = st.sampled_from(sorted(ATOMS)).map(lambda a: Tree("atom", a))
    return st.recursive(
        leaves,
        lambda kids: st.builds(
            Tree,
            st.sampled_from(["and", "or"]),
            st.just(""),
            st.lists(kids, min_size=2, max_size=3).map(tuple),
        ),
        max_leaves=8,
    )


def render(tree: Tree, ws: st.DrawFn, parent: str = "or") -> str:
    sp = ws(st.sampled_from(["", " ", "  ", "\t"]))
    if tree.op == "atom":
        return tree.atom
    inner = f" {tree.op} ".join(render(c, ws, tree.op) for c in tree.children)
    needs_parens = tree.op == "or" and parent == "and"
    if needs_parens or ws(st.booleans()):
        return f"({sp}{inner}{sp})"
    return inner


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_property_boolean_structure_matches_reference(tree: Tree, data: st.DataObject) -> None:
    text = render(tree, data.draw)
    assert evaluate_marker(text, ENV_FOR_TREES, FOOBAR) is tree.value(), text
    if not any(atom in text for atom in VARIANT_ATOMS):
        assert Marker(text).evaluate(ENV_FOR_TREES) is tree.value()


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["foo", "foo :: bar", "foo :: bar :: baz", "foo :: qux :: 1.2", "x :: y :: z"]),
    st.lists(st.sampled_from(["", " ", "\t", "  "]), min_size=8, max_size=8),
    st.booleans(),
)
def test_property_whitespace_insensitive(item: str, spaces: list[str], negate: bool) -> None:
    variable = {1: "variant_namespaces", 2: "variant_features", 3: "variant_properties"}[
        item.count("::") + 1
    ]
    pieces = [p.strip() for p in item.split("::")]
    spaced = (
        spaces[0]
        + "".join(f"{p}{spaces[2 * i + 1]}::{spaces[2 * i + 2]}" for i, p in enumerate(pieces[:-1]))
        + pieces[-1]
        + spaces[7]
    )
    op = "not in" if negate else "in"
    canonical = applies(f'"{item}" {op} {variable}', FOOBAR)
    assert applies(f'"{spaced}"{spaces[5]} {op} {variable}', FOOBAR) is canonical


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(
                [
                    '"a"',
                    "'b :: c'",
                    "variant_namespaces",
                    "variant_label",
                    "python_version",
                    "in",
                    "not",
                    "and",
                    "or",
                    "(",
                    ")",
                    "==",
                    "~=",
                    ";",
                    " ",
                    '"x',
                    "extra",
                    "dep",
                ]
            ),
            max_size=10,
        ).map(" ".join),
    )
)
def test_property_only_invalid_marker_escapes(text: str) -> None:
    for func in (
        lambda: evaluate_marker(text, ENV, CU128),
        lambda: requirement_applies(f"dep; {text}", ENV, CU128, extras={"x"}),
        lambda: requirement_applies(text, ENV, NON_VARIANT),
    ):
        try:
            result = func()
        except InvalidMarker as exc:
            assert "\n" not in str(exc)
        else:
            assert result is None or isinstance(result, (bool, Requirement))


# --------------------------------------------------------------------------- issue 7: inputs

_HUGE = "1" + "0" * 4400  # past int()'s 4,300-digit limit: packaging raises a bare ValueError


@pytest.mark.parametrize(
    "marker",
    [
        f'python_version > "{_HUGE}"',
        f'"{_HUGE}" < python_version',
        f'platform_release >= "1.{_HUGE}" and "x" in variant_namespaces',
        f'python_version ~= "{_HUGE}"',
    ],
)
def test_marker_with_a_number_past_the_digit_limit(marker: str) -> None:
    with pytest.raises(InvalidMarker) as err:
        evaluate_marker(marker, {"platform_release": "6.1"}, VariantEnvironment.non_variant())
    message = str(err.value)
    assert "more than 4300 digits" in message and "\n" not in message and len(message) < 600


@pytest.mark.parametrize(
    "line", [f"demo>={_HUGE}", f'demo; python_version > "{_HUGE}"', f"demo==={_HUGE}"]
)
def test_requires_dist_with_a_number_past_the_digit_limit(line: str) -> None:
    with pytest.raises(InvalidMarker, match="more than 4300 digits"):
        requirement_applies(line, {}, VariantEnvironment.non_variant())
