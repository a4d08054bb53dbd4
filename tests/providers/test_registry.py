"""varwheel.providers.registry: which providers entries a native provider stands in for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from varwheel.providers.native import NATIVE_PROVIDER_TYPES
from varwheel.providers.registry import (
    all_native_providers,
    native_mismatch_reason,
    native_provider_by_namespace,
    native_provider_for,
    normalize_plugin_api,
)
from varwheel.spec.metadata import load_variants_json
from varwheel.spec.model import ProviderInfo

# What the plugins that the real index names look like; every entry but the AoT pseudo-namespace
# ``priority`` (no plugin at all) must map to the native provider of the same namespace.
UNMAPPED_IN_REAL_INDEX = {"priority"}


def _real_entries(real_index_dir: Path) -> list[tuple[str, str, ProviderInfo]]:
    entries = []
    for path in sorted(real_index_dir.glob("*/*-variants.json")):
        md = load_variants_json(path.read_bytes(), source=str(path))
        entries += [(path.name, ns, info) for ns, info in md.providers.items()]
    return entries


def test_every_providers_entry_of_the_real_index_maps(real_index_dir: Path) -> None:
    entries = _real_entries(real_index_dir)
    assert len({name for name, _, _ in entries}) == 96
    seen: dict[str, int] = {}
    for name, ns, info in entries:
        provider = native_provider_for(ns, info)
        if ns in UNMAPPED_IN_REAL_INDEX:
            assert provider is None, (name, ns)
            continue
        assert provider is not None, (name, ns, native_mismatch_reason(ns, info))
        assert provider.namespace == ns
        seen[ns] = seen.get(ns, 0) + 1
    assert set(seen) == {"nvidia", "amd", "intel", "x86_64", "aarch64", "blas_lapack", "openmp"}


def test_every_requires_and_plugin_api_string_in_the_wild_is_known(real_index_dir: Path) -> None:
    by_ns = {cls.namespace: cls for cls in NATIVE_PROVIDER_TYPES}
    for _, ns, info in _real_entries(real_index_dir):
        if ns in UNMAPPED_IN_REAL_INDEX:
            continue
        if info.plugin_api is not None:
            assert normalize_plugin_api(info.plugin_api) in by_ns[ns].plugin_apis
        for req in info.requires:
            assert any(req.startswith(d) for d in by_ns[ns].distributions), req


def test_variantlib_0_2_2_outputs(variantlib_outputs_dir: Path) -> None:
    x86 = load_variants_json(
        (variantlib_outputs_dir / "x86-tinypkg-1.0.0-variants.json").read_bytes()
    )
    assert native_provider_for("x86_64", x86.providers["x86_64"]) is not None  # uv's vendored name
    toy = load_variants_json((variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes())
    assert native_provider_for("toy", toy.providers["toy"]) is None
    assert native_provider_for("blas", toy.providers["blas"]) is None


NV_API = "nvidia_variant_provider.plugin:NvidiaVariantPlugin"


@pytest.mark.parametrize(
    ("ns", "info"),
    [
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider",), plugin_api=NV_API)),
        ("nvidia", ProviderInfo("nvidia", requires=("Nvidia_Variant.Provider ==0.0.2",))),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider",), plugin_api=" nvidia_variant_provider.plugin : NvidiaVariantPlugin ")),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider>=0.0.1; python_version >= '3.8'",))),
        ("nvidia", ProviderInfo("nvidia", plugin_api=NV_API)),
        ("blas_lapack", ProviderInfo("blas_lapack", build_requires=("blas-lapack-variant-provider",))),
        ("aarch64", ProviderInfo("aarch64", requires=("provider-variant-aarch64",), plugin_api="provider_variant_aarch64:")),
        ("x86_64", ProviderInfo("x86_64", builtin="x86_64")),
        ("openmp", ProviderInfo("openmp", requires=("openmp-variant-provider", "packaging"))),
        ("openmp", ProviderInfo("openmp", requires=("legacy-omp; python_version < '3'", "openmp-variant-provider"))),
        ("blas_lapack", ProviderInfo("blas_lapack", requires=("Blas.Lapack_Variant-Provider>=0.0.1",))),
        # PEP 817 §"providers": requirements whose marker is false are filtered out first
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider<0.0.2; python_version < '3'", "nvidia-variant-provider>=0.0.2; python_version >= '3'"))),
    ],
)  # fmt: skip
def test_maps(ns: str, info: ProviderInfo) -> None:
    provider = native_provider_for(ns, info)
    assert provider is not None and provider.namespace == ns
    assert native_mismatch_reason(ns, info) is None


@pytest.mark.parametrize(
    ("ns", "info", "reason"),
    [
        ("gpu", ProviderInfo("gpu", requires=("nvidia-variant-provider",), plugin_api=NV_API), "no native provider implements namespace 'gpu'"),
        ("amd", ProviderInfo("amd", requires=("nvidia-variant-provider",), plugin_api=NV_API), "not one varwheel re-implements for 'amd'"),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider>=0.1",)), "excludes nvidia-variant-provider 0.0.2"),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider<0.0.2",)), "excludes"),
        ("nvidia", ProviderInfo("nvidia", requires=("my-nvidia-fork",), plugin_api=NV_API), "my-nvidia-fork"),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider",), plugin_api="nvidia_variant_provider.v2:Plugin"), "plugin-api 'nvidia_variant_provider.v2:Plugin'"),
        ("nvidia", ProviderInfo("nvidia", requires=("helper", "nvidia-variant-provider")), "plugin-api 'helper'"),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider @ https://example.invalid/p.whl",)), "pinned to a URL"),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider >>> 1",)), "requirement is invalid"),
        ("x86_64", ProviderInfo("x86_64", builtin="cpu-magic"), "builtin provider 'cpu-magic'"),
        ("priority", ProviderInfo("priority", static_properties={"order": ("1",)}, install_time=False), "no native provider"),
        ("nvidia", ProviderInfo("nvidia"), "names no plugin"),
        ("nvidia", ProviderInfo("nvidia", requires=("nvidia-variant-provider; python_version < '3'",)), "no requirement of provider 'nvidia' applies"),
    ],
)  # fmt: skip
def test_does_not_map(ns: str, info: ProviderInfo, reason: str) -> None:
    assert native_provider_for(ns, info) is None
    why = native_mismatch_reason(ns, info)
    assert why is not None and reason in why


def test_all_native_providers_cover_every_namespace_once() -> None:
    providers = all_native_providers()
    names = [p.namespace for p in providers]
    assert names == [
        "x86_64",
        "aarch64",
        "nvidia",
        "amd",
        "intel",
        "ascend",
        "blas_lapack",
        "openmp",
    ]
    assert native_provider_by_namespace("nvidia").namespace == "nvidia"  # type: ignore[union-attr]
    assert native_provider_by_namespace("toy") is None


def test_plugin_api_normalisation() -> None:
    assert normalize_plugin_api("a.b : C.d") == "a.b:C.d"
    assert normalize_plugin_api("mod:") == "mod"
    assert normalize_plugin_api(" mod ") == "mod"


def test_distributions_are_canonical_names() -> None:
    from packaging.utils import canonicalize_name

    for cls in NATIVE_PROVIDER_TYPES:
        assert all(canonicalize_name(d) == d for d in cls.distributions)


def test_plugins_json_names_the_distributions_we_map(fixtures_dir: Path) -> None:
    data = json.loads((fixtures_dir / "reference-plugin-outputs" / "plugins.json").read_text())
    for ns, entry in data["providers"].items():
        dist, version = entry["distribution"].split()
        info = ProviderInfo(ns, requires=(f"{dist}=={version}",), plugin_api=entry["plugin-api"])
        assert native_provider_for(ns, info) is not None, ns


def test_the_lazy_table_names_each_class_by_its_namespace() -> None:
    from varwheel.providers import native

    assert tuple(cls.namespace for cls in NATIVE_PROVIDER_TYPES) == native.NAMESPACES
    for cls in NATIVE_PROVIDER_TYPES:
        assert native.provider_type(cls.namespace) is cls
        assert getattr(native, cls.__name__) is cls
    assert native.provider_type("no_such_namespace") is None


def test_one_namespace_imports_only_its_own_provider() -> None:
    """An x86-64 variant package loads the x86_64 provider, not the GPU providers' bindings."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from varwheel.providers.registry import native_provider_by_namespace\n"
        "assert native_provider_by_namespace('x86_64') is not None\n"
        "print(sorted(m for m in sys.modules if m.startswith('varwheel.providers.native.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout
    assert "varwheel.providers.native.x86_64" in loaded
    for other in ("nvidia", "amd", "intel", "ascend", "aarch64", "_nvml", "_levelzero"):
        assert f"varwheel.providers.native.{other}'" not in loaded, loaded
