"""Native AoT providers: blas_lapack (blas-lapack-variant-provider 0.0.3) and openmp."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.plugin_outputs import plugin_reference
from varwheel.providers.base import FeatureConfig, feature_configs_to_json, validate_static
from varwheel.providers.native.blas_lapack import BlasLapackProvider
from varwheel.providers.native.openmp import OpenMPProvider


def test_blas_lapack_equals_published_plugin(fixtures_dir: Path) -> None:
    reference = plugin_reference(fixtures_dir, "blas_lapack")
    provider = BlasLapackProvider()
    assert provider.is_static is True
    assert feature_configs_to_json(provider.get_all_configs()) == reference["all"]
    for case in reference["cases"]:
        assert feature_configs_to_json(provider.get_supported_configs()) == case["supported"]
    validate_static("blas_lapack", provider.get_all_configs(), provider.get_supported_configs())


def test_openmp_list_as_the_plugin_declares() -> None:
    provider = OpenMPProvider()
    assert provider.is_static is True
    assert provider.get_supported_configs() == (
        FeatureConfig("provider", ("gnu", "intel", "llvm")),
    )
    validate_static("openmp", provider.get_all_configs(), provider.get_supported_configs())


def test_static_values_appear_in_real_index_metadata(real_index_dir: Path) -> None:
    seen: dict[str, set[str]] = {"blas_lapack": set(), "openmp": set()}
    for path in real_index_dir.glob("*/*-variants.json"):
        for variant in json.loads(path.read_text()).get("variants", {}).values():
            for ns, values in seen.items():
                values.update(variant.get(ns, {}).get("provider", []))
    assert seen["blas_lapack"] and seen["openmp"]
    assert seen["blas_lapack"] <= set(BlasLapackProvider().get_all_configs()[0].values)
    assert seen["openmp"] <= set(OpenMPProvider().get_all_configs()[0].values)


def test_static_fingerprints_are_constant() -> None:
    assert BlasLapackProvider().fingerprint() == BlasLapackProvider().fingerprint()
    assert BlasLapackProvider().fingerprint() != OpenMPProvider().fingerprint()
