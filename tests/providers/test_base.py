"""varwheel.providers.base: FeatureConfig helpers and the supported ⊆ all validator."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varwheel.errors import ProviderError
from varwheel.providers.base import (
    FeatureConfig,
    Provider,
    configs_to_properties,
    feature_configs_from_json,
    feature_configs_to_json,
    restrict_to,
    validate_all_configs,
    validate_static,
    validate_supported,
)
from varwheel.providers.registry import all_native_providers

ALL = (
    FeatureConfig("level", ("v3", "v2", "v1")),
    FeatureConfig("gpu", ("a", "b", "c"), multi_value=True),
)


def test_configs_to_properties_keeps_order_and_drops_empty_features() -> None:
    configs = (
        FeatureConfig("gpu", ("b", "a"), multi_value=True),
        FeatureConfig("empty", ()),
        FeatureConfig("level", ("v2", "v1")),
    )
    props = configs_to_properties(configs)
    assert list(props.items()) == [("gpu", ("b", "a")), ("level", ("v2", "v1"))]


def test_validate_supported_accepts_subset_in_any_order() -> None:
    validate_supported("toy", ALL, (FeatureConfig("gpu", ("c", "a"), multi_value=True),))
    validate_supported("toy", ALL, ())


@pytest.mark.parametrize(
    ("supported", "message"),
    [
        ((FeatureConfig("speed", ("fast",)),), "supported feature 'speed' is not declared"),
        ((FeatureConfig("level", ("v4",)),), "supported value 'v4' of feature 'level'"),
        ((FeatureConfig("gpu", ("a",), multi_value=False),), "multi_value=False"),
        ((FeatureConfig("level", ("v1", "v1")),), "lists value 'v1' twice"),
        ((FeatureConfig("level", ("V1",)),), "value 'V1' of feature 'level' is invalid"),
        (
            (FeatureConfig("level", ("v1",)), FeatureConfig("level", ("v2",))),
            "feature 'level' twice",
        ),
    ],
)
def test_validate_supported_rejects(supported: tuple[FeatureConfig, ...], message: str) -> None:
    with pytest.raises(ProviderError, match=re.escape(message)) as info:
        validate_supported("toy", ALL, supported)
    assert str(info.value).startswith("provider 'toy': ")


@pytest.mark.parametrize(
    ("all_configs", "message"),
    [
        ((), "returned no features"),
        ((FeatureConfig("level", ()),), "feature 'level' has no values"),
        ((FeatureConfig("Level", ("v1",)),), "feature name 'Level' is invalid"),
        ((FeatureConfig("a", ("1",)), FeatureConfig("a", ("2",))), "lists feature 'a' twice"),
    ],
)
def test_validate_all_configs_rejects(all_configs: tuple[FeatureConfig, ...], message: str) -> None:
    with pytest.raises(ProviderError, match=re.escape(message)):
        validate_all_configs("toy", all_configs)


def test_validate_static_requires_supported_equal_all() -> None:
    reordered = (ALL[1], FeatureConfig("level", ("v1", "v3", "v2")))
    validate_static("toy", ALL, reordered)
    with pytest.raises(ProviderError, match="ahead-of-time"):
        validate_static("toy", ALL, (ALL[0],))


def test_restrict_to_drops_undeclared_values_and_empty_features() -> None:
    supported = (
        FeatureConfig("level", ("v5", "v3", "v1")),
        FeatureConfig("speed", ("fast",)),
        FeatureConfig("gpu", ("z",), multi_value=True),
    )
    assert restrict_to(supported, ALL) == (FeatureConfig("level", ("v3", "v1")),)


def test_json_round_trip_matches_plugin_shape() -> None:
    data = feature_configs_to_json(ALL)
    assert data[1] == {"name": "gpu", "values": ["a", "b", "c"], "multi_value": True}
    assert feature_configs_from_json(json.loads(json.dumps(data)), namespace="toy") == ALL


def test_json_multi_value_defaults_to_false() -> None:
    assert feature_configs_from_json([{"name": "f", "values": ["x"]}], namespace="toy") == (
        FeatureConfig("f", ("x",), False),
    )


@pytest.mark.parametrize(
    "data",
    [
        {"name": "f"},
        [1],
        [{"values": ["x"]}],
        [{"name": "f", "values": "x"}],
        [{"name": "f", "values": [1]}],
        [{"name": "f", "values": ["x"], "multi_value": "yes"}],
        [{"name": "f", "values": ["x", "x"]}],
        [{"name": "f-g", "values": ["x"]}],
    ],
)
def test_json_rejects_malformed_answers(data: object) -> None:
    with pytest.raises(ProviderError, match=r"^provider 'toy': "):
        feature_configs_from_json(data, namespace="toy")


_name = st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True)
_value = st.from_regex(r"[a-z0-9_.]{1,12}", fullmatch=True)
_config = st.builds(
    FeatureConfig,
    name=_name,
    values=st.lists(_value, unique=True, max_size=6).map(tuple),
    multi_value=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_config, max_size=6))
def test_json_parser_round_trips_any_valid_answer(configs: list[FeatureConfig]) -> None:
    assert feature_configs_from_json(feature_configs_to_json(configs), namespace="ns") == tuple(
        configs
    )


@settings(max_examples=80, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=12,
    )
)
def test_json_parser_never_crashes(data: object) -> None:
    try:
        result = feature_configs_from_json(data, namespace="ns")
    except ProviderError as exc:
        assert str(exc).startswith("provider 'ns': ")
    else:
        assert isinstance(data, list) and len(result) == len(data)


# few names and values, so that supported and declared features overlap often
_overlapping = st.builds(
    FeatureConfig,
    name=st.sampled_from(("a", "b", "c", "d")),
    values=st.lists(st.sampled_from(("w", "x", "y", "z")), unique=True, max_size=4).map(tuple),
    multi_value=st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_overlapping, max_size=4, unique_by=lambda c: c.name),
    st.lists(_overlapping, max_size=5),
)
def test_restrict_to_always_yields_a_valid_subset(
    all_configs: list[FeatureConfig], supported: list[FeatureConfig]
) -> None:
    declared = {c.name: set(c.values) for c in all_configs}
    kept = restrict_to(supported, all_configs)
    # each supported feature the declaration knows, in order, keeps exactly its declared values
    # (in the provider's order, with its multi_value); features left with no value are dropped
    expected = [
        FeatureConfig(c.name, tuple(v for v in c.values if v in declared[c.name]), c.multi_value)
        for c in supported
        if c.name in declared
    ]
    assert list(kept) == [c for c in expected if c.values]
    names = [c.name for c in kept]
    declared_configs = [c for c in all_configs if c.values]
    if declared_configs and len(set(names)) == len(names):  # then it passes the PEP 817 check
        multi = {c.name: c.multi_value for c in all_configs}
        aligned = tuple(FeatureConfig(c.name, c.values, multi[c.name]) for c in kept)
        validate_supported("ns", declared_configs, aligned)


def test_every_native_provider_satisfies_the_protocol() -> None:
    for provider in all_native_providers():
        assert isinstance(provider, Provider)
        validate_all_configs(provider.namespace, provider.get_all_configs())
        assert provider.version and provider.distributions and provider.plugin_apis
        assert re.fullmatch(r"[0-9a-f]{64}", provider.fingerprint())


@pytest.mark.timeout(120)  # quadratic validation took hours here; linear takes about a second
def test_a_huge_answer_is_validated_in_linear_time() -> None:
    n = 200_000
    values = [f"v{i}" for i in range(n)]
    raw_all = [{"name": "big", "values": values}, {"name": "small", "values": ["a", "b"]}]
    raw_supported = [{"name": "big", "values": values[::-1]}, {"name": "small", "values": ["b"]}]
    all_configs = feature_configs_from_json(raw_all, namespace="x")
    supported = feature_configs_from_json(raw_supported, namespace="x")
    validate_all_configs("x", all_configs)
    validate_supported("x", all_configs, supported)
    validate_static("x", all_configs, (supported[0], all_configs[1]))
    assert restrict_to(supported, all_configs) == supported
    props = configs_to_properties(supported)
    assert props["big"][0] == f"v{n - 1}" and len(props["big"]) == n
    assert props["small"] == ("b",)
    # one undeclared value at the very end is still found, and named in one short line
    bad = FeatureConfig("big", (*values[::-1], "w" * 10_000))
    with pytest.raises(ProviderError, match=r"^provider 'x': supported value 'w{79} of") as caught:
        validate_supported("x", all_configs, (bad,))
    assert len(str(caught.value)) < 300
