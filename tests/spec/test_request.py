"""``--variant`` request texts (spec/request.py): the three forms, their combination per package,
and that no text, however odd, gets past the parser as anything but a request or InvalidInput."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from helpers.hostile import hostile_text
from varwheel.errors import InvalidInput
from varwheel.spec.properties import VariantProperty
from varwheel.spec.request import VariantRequest, as_request, parse_item, parse_requests

P_CUDA = VariantProperty.parse("nvidia :: cuda_version_lower_bound :: 12.8")
P_SM = VariantProperty.parse("nvidia :: sm_arch :: 90_real")

names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?", fullmatch=True)
labels = st.from_regex(r"[0-9a-z_.]{1,12}", fullmatch=True)
idents = st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True)
values = st.from_regex(r"[a-z0-9_.]{1,8}", fullmatch=True)
spaces = st.sampled_from(["", " ", "  ", "\t"])


def test_three_forms() -> None:
    assert parse_requests(["Torch=cuda12.8"]) == {"torch": VariantRequest(label="cuda12.8")}
    null = parse_requests(["torch = null"])["torch"]
    assert null.is_null and null.label == "null"
    by_prop = parse_requests(["torch=nvidia::cuda_version_lower_bound::12.8"])["torch"]
    assert by_prop == VariantRequest(properties=frozenset({P_CUDA}))


def test_properties_add_up_and_repeats_are_idempotent() -> None:
    texts = [
        f"torch={P_CUDA}",
        f"torch={P_SM}",
        f"torch={P_SM}",
        "numpy=x86_64_v3",
        "numpy=x86_64_v3",
    ]
    got = parse_requests(texts)
    assert got["torch"].properties == {P_CUDA, P_SM}
    assert got["numpy"] == VariantRequest(label="x86_64_v3")


def test_matching() -> None:
    both = VariantRequest(properties=frozenset({P_CUDA, P_SM}))
    assert both.matches("cu128", (P_CUDA, P_SM, VariantProperty.parse("a :: b :: c")))
    assert not both.matches("cu128", (P_CUDA,))
    assert both.missing((P_CUDA,)) == (P_SM,)
    null = VariantRequest(label="null")
    assert null.matches("00000000", ()) and not null.matches("null", (P_SM,))
    assert VariantRequest(label="cu128").matches("cu128", (P_SM,))
    assert as_request("cu128") == VariantRequest(label="cu128")


@pytest.mark.parametrize(
    ("texts", "words"),
    [
        (["*=cuda12.8"], ["per package", "--prefer", "--forbid"]),
        (["*=nvidia :: sm_arch :: 90_real"], ["per package"]),
        (["torch=cu128", "torch=cuda12.8"], ["two variants of torch", "torch=cu128"]),
        (["torch=null", "Torch=cu128"], ["two variants of torch"]),
        (["torch=null", f"torch={P_SM}"], ["by its label or by properties"]),
        ([f"torch={P_SM}", "torch=cu128"], ["by its label or by properties"]),
        (["torch"], ["expected NAME=LABEL"]),
        (["=cu128"], ["expected NAME=LABEL"]),
        (["torch="], ["expected NAME=LABEL"]),
        (["torch=CU128"], ["invalid variant label"]),
        (["torch=nvidia :: sm_arch"], ["invalid variant"]),
        (["to rch=cu128"], ["not a package name"]),
    ],
)
def test_bad_requests_are_one_line_errors(texts: list[str], words: list[str]) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_requests(texts)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


@given(names, labels, spaces, spaces)
def test_label_round_trip(name: str, label: str, before: str, after: str) -> None:
    item = parse_item(f"{name}{before}={after}{label}")
    assert item.label == label and item.prop is None
    assert item.name == canonicalize_name(name)


@given(names, idents, idents, values, spaces)
def test_property_round_trip(name: str, ns: str, feature: str, value: str, sp: str) -> None:
    text = f"{name}={sp}{ns}{sp}::{sp}{feature}{sp}::{sp}{value}{sp}"
    got = parse_requests([text])
    (request,) = got.values()
    assert request.properties == {VariantProperty(ns, feature, value)}
    assert request.label is None


@given(st.lists(st.tuples(idents, idents, values), min_size=1, max_size=5))
def test_repeated_properties_are_the_set(props: list[tuple[str, str, str]]) -> None:
    got = parse_requests([f"pkg={ns} :: {f} :: {v}" for ns, f, v in props])
    assert got["pkg"].properties == {VariantProperty(*p) for p in props}


@given(hostile_text(("=", "::", "*", "null", "torch", " ", "cu128", "nvidia")))
def test_any_text_is_a_request_or_invalid_input(text: str) -> None:
    try:
        got = parse_requests([text])
    except InvalidInput as err:
        assert str(err).startswith("--variant ")
        return
    (request,) = got.values()
    assert (request.label is None) != (not request.properties)
