"""Fixtures shared by the spec tests."""

from __future__ import annotations

import pytest

from varwheel.spec.compat import SupportedProperties, effective_support
from varwheel.spec.model import ProviderInfo, VariantMetadata
from varwheel.spec.properties import VariantProperty, canonical_properties


def _props(*texts: str) -> tuple[VariantProperty, ...]:
    return canonical_properties(VariantProperty.parse(t) for t in texts)


@pytest.fixture
def worked_vector() -> tuple[VariantMetadata, SupportedProperties]:
    """PEP 817 §"Variant ordering" worked vector (digest §6.4): metadata and the effective support
    of an x86-64-v4 Linux machine; the expected order is a, b, c, null."""
    md = VariantMetadata(
        namespace_priorities=("x86_64", "blas_lapack"),
        providers={
            "x86_64": ProviderInfo("x86_64", requires=("provider-variant-x86-64",)),
            "blas_lapack": ProviderInfo(
                "blas_lapack",
                static_properties={"provider": ("accelerate", "openblas", "mkl")},
                install_time=False,
            ),
        },
        variants={
            "a": _props("x86_64 :: level :: v3", "blas_lapack :: provider :: openblas"),
            "b": _props("x86_64 :: level :: v4", "blas_lapack :: provider :: mkl"),
            "c": _props("blas_lapack :: provider :: mkl"),
            "null": (),
        },
        feature_priorities={"x86_64": ("level",)},
        property_priorities={"x86_64": {"level": ("v3", "v2", "v1")}},
    )
    detected = SupportedProperties(
        {"x86_64": {"level": ("v4", "v3", "v2", "v1"), "avx512_bf16": ("on",)}}
    )
    linux = {"platform_system": "Linux", "platform_machine": "x86_64", "sys_platform": "linux"}
    return md, effective_support(md, detected, marker_env=linux)
