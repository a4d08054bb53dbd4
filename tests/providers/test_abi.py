"""abi_dependency supported values from the target's distributions (PEP 817 §8.6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from varwheel.providers.abi import abi_supported, abi_values, feature_name


@pytest.mark.parametrize(
    ("version", "values"),
    [
        ("2.9.1", ("2.9.1", "2.9", "2")),
        ("2.9", ("2.9.0", "2.9", "2")),
        ("3", ("3.0.0", "3.0", "3")),
        ("2.8.0.post1", ("2.8.0", "2.8", "2")),
        ("2.9.0+cu128", ("2.9.0", "2.9", "2")),
        ("2.10.0rc1", ("2.10.0", "2.10", "2")),
        ("1!2.0", ()),
        ("not a version", ()),
    ],
)
def test_values_most_specific_first(version: str, values: tuple[str, ...]) -> None:
    assert abi_values(version) == values


def test_feature_names_are_normalised() -> None:
    assert feature_name("Torch") == "torch"
    assert feature_name("nvidia-cuda_runtime.cu12") == "nvidia_cuda_runtime_cu12"


def test_installed_plus_what_the_install_adds() -> None:
    installed = {"torch": "2.8.0", "NumPy": "2.3.4", "weird": "1!1.0"}
    adding = {"torch": "2.9.1", "vllm": "0.11.0"}
    assert abi_supported(installed, adding) == {
        "numpy": ("2.3.4", "2.3", "2"),
        "torch": ("2.9.1", "2.9", "2"),  # the upgrade replaces the installed version
        "vllm": ("0.11.0", "0.11", "0"),
    }
    assert abi_supported({}) == {}


@given(st.lists(st.integers(0, 50), min_size=1, max_size=5))
def test_every_value_matches_as_a_prefix_specifier(release: list[int]) -> None:
    """``abi_dependency :: pkg :: V`` means ``pkg==V.*`` (PEP 817 §8.6): the version must match."""
    version = Version(".".join(map(str, release)))
    for value in abi_values(version):
        assert version in SpecifierSet(f"=={value}.*")
    assert [v.count(".") for v in abi_values(version)] == [2, 1, 0]
