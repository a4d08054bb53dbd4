"""``varwheel label``: the default (variantlib-compatible) label of a property set."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varwheel.cli.main import main


def label(capsys: pytest.CaptureFixture[str], *props: str) -> tuple[int, str, str]:
    argv = ["label"]
    for prop in props:
        argv += ["-p", prop]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        # spec-digest §1.3 and peers.md §1.4 test vectors
        (("x86_64 :: level :: v3",), "fa7c1393"),
        (("x86_64 :: aes :: on", "x86_64 :: level :: v3"), "7e3cb5eb"),
        (("toy :: level :: v3",), "89de6e32"),
        (("blas :: library :: mkl", "toy :: level :: v3"), "a1c92b92"),
        ((), "null"),
    ],
)
def test_known_labels(
    capsys: pytest.CaptureFixture[str], props: tuple[str, ...], expected: str
) -> None:
    assert label(capsys, *props) == (0, expected + "\n", "")


def test_order_whitespace_and_duplicates_do_not_matter(capsys: pytest.CaptureFixture[str]) -> None:
    a = label(capsys, "x86_64 :: level :: v3", "x86_64 :: aes :: on")
    b = label(capsys, "x86_64::aes::on", "  x86_64 ::level::   v3 ", "x86_64 :: aes :: on")
    assert a == b == (0, "7e3cb5eb\n", "")


@pytest.mark.parametrize(
    "bad", ["X86 :: level :: v3", "x86_64 :: level", "a :: b :: c :: d", "a :: b- :: c"]
)
def test_invalid_property_exit_2(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, out, err = label(capsys, bad)
    assert (code, out) == (2, "")
    assert err.startswith("varwheel: error: -p ") and err.count("\n") == 1
    assert f"-p {bad!r}: " in err


_name = st.from_regex(r"[a-z0-9_]{1,6}", fullmatch=True)
_value = st.from_regex(r"[a-z0-9_.]{1,6}", fullmatch=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_name, _name, _value), max_size=5))
def test_matches_variantlib(props: list[tuple[str, str, str]]) -> None:

    from variantlib.models.variant import VariantDescription, VariantProperty

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["label", *[arg for p in props for arg in ("-p", " :: ".join(p))]]) == 0
    desc = VariantDescription([VariantProperty(*p) for p in set(props)])
    assert buf.getvalue() == f"{desc.label}\n"


def test_json_carries_the_label_and_the_properties(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code = main(["label", "--json", "-p", "x86_64 :: level :: v3", "-p", "x86_64 :: aes :: on"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == {
        "label": "7e3cb5eb",
        "properties": ["x86_64 :: aes :: on", "x86_64 :: level :: v3"],
    }
