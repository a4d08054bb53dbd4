"""Provider orchestration rules (PEP 817 §"Suggested implementation logic" step 7, §6.3, §6.8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from plugins.wheelhouse import TEST_PLUGINS, PluginPaths, shared_paths

from varwheel.errors import InvalidMetadata, ProviderError
from varwheel.providers import runner
from varwheel.providers.detect import (
    ProviderOptions,
    ProviderSession,
    detect_support,
    session_for,
)
from varwheel.spec.model import ProviderInfo, VariantMetadata
from varwheel.spec.properties import VariantProperty

ENV = dict(default_environment())
FORCE = {
    "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.8",
    "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "9.0",
}


@pytest.fixture(scope="session")
def plugin_paths(
    tmp_path_factory: pytest.TempPathFactory, variantlib_outputs_dir: Path
) -> PluginPaths:
    return shared_paths(tmp_path_factory.getbasetemp(), variantlib_outputs_dir / "wheels")


@pytest.fixture
def forced_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FORCE.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def plugin_batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The namespaces of each batch sent to a plugin worker (the real query still runs)."""
    batches: list[list[str]] = []
    real = runner.query_plugins

    def spy(env_dir: Path, queries: Any, *, timeout: float) -> Any:
        batches.append([q.namespace for q in queries])
        return real(env_dir, queries, timeout=timeout)

    monkeypatch.setattr(runner, "query_plugins", spy)
    return batches


def md(**providers: ProviderInfo) -> VariantMetadata:
    return VariantMetadata(namespace_priorities=tuple(providers), providers=providers)


def nvidia(**kw: Any) -> ProviderInfo:
    return ProviderInfo("nvidia", requires=("nvidia-variant-provider>=0.0.1",), **kw)


def plugin(ns: str, module: str) -> ProviderInfo:
    return ProviderInfo(ns, requires=("vw-test-plugins>=1.0",), plugin_api=module)


def session(tmp_path: Path, warnings: list[str] | None = None, **kw: Any) -> ProviderSession:
    kw.setdefault("cache_dir", tmp_path / "cache")
    return ProviderSession(
        ProviderOptions(on_warning=None if warnings is None else warnings.append, **kw)
    )


def test_static_providers_run_nothing(tmp_path: Path) -> None:
    warnings: list[str] = []
    meta = md(blas=ProviderInfo("blas", static_properties={"library": ("openblas",)}))
    support = session(tmp_path, warnings).detect(meta, target_env=ENV)
    assert support.properties == {} and support.unavailable == {}
    assert warnings == []


def test_native_provider_answers_in_process(tmp_path: Path, forced_gpu: None) -> None:
    support = session(tmp_path).detect(md(nvidia=nvidia()), target_env=ENV)
    assert support.properties["nvidia"]["cuda_version_lower_bound"][0] == "12.8"
    assert support.properties["nvidia"]["sm_arch"][0] == "90_real"


def test_optional_provider_needs_enabling(tmp_path: Path, forced_gpu: None) -> None:
    meta = md(nvidia=nvidia(optional=True))
    off = session(tmp_path).detect(meta, target_env=ENV)
    assert off.unavailable == {
        "nvidia": "optional provider 'nvidia' is not enabled (enable it with --enable-provider nvidia)"
    }
    on = session(tmp_path, enabled_optional=("nvidia",)).detect(meta, target_env=ENV)
    assert "nvidia" in on.properties


def test_enable_if_uses_the_target_environment(tmp_path: Path, forced_gpu: None) -> None:
    meta = md(nvidia=nvidia(enable_if="sys_platform == 'win32'"))
    windows = dict(ENV, sys_platform="win32")
    assert "nvidia" in session(tmp_path).detect(meta, target_env=windows).properties
    linux = session(tmp_path).detect(meta, target_env=dict(ENV, sys_platform="linux"))
    assert (
        linux.unavailable["nvidia"] == "enable-if 'sys_platform == 'win32'' is false for the target"
    )
    with pytest.raises(InvalidMetadata, match=r"providers\.nvidia\.enable-if"):
        session(tmp_path).detect(md(nvidia=nvidia(enable_if="os_name =! 'x'")), target_env=ENV)


def test_profile_replaces_every_provider(
    tmp_path: Path, forced_gpu: None, plugin_paths: PluginPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "target.toml"
    profile.write_text('[properties.nvidia]\nsm_arch = ["120_real"]\n')
    canary = tmp_path / "canary"
    monkeypatch.setenv("VW_CANARY_FILE", str(canary))
    meta = md(
        nvidia=nvidia(),
        canary=ProviderInfo("canary", requires=("vw-canary-plugin",), plugin_api="vw_canary"),
    )
    s = session(
        tmp_path,
        profile=profile,
        trusted=("vw-canary-plugin==1.0.0",),
        plugin_source=plugin_paths.source(),
    )
    support = s.detect(meta, target_env=ENV)
    assert support.properties == {"nvidia": {"sm_arch": ("120_real",)}}  # not the forced 9.0
    assert support.unavailable == {
        "canary": f"namespace 'canary' is not listed in profile {profile}"
    }
    assert not canary.exists()


def test_untrusted_plugin_is_unavailable_with_a_hint(tmp_path: Path) -> None:
    warnings: list[str] = []
    meta = md(foo=ProviderInfo("foo", requires=("foo-variant-provider==1.2.3",)))
    support = session(tmp_path, warnings).detect(meta, target_env=ENV)
    expected = (
        "provider 'foo-variant-provider' is not trusted; "
        "trust it with --trust-provider 'foo-variant-provider==1.2.3'"
    )
    assert support.unavailable == {"foo": expected}
    assert warnings == [
        expected + "; variants that need namespace 'foo' are treated as incompatible"
    ]
    with pytest.raises(ProviderError, match="not trusted"):
        session(tmp_path, strict=True).detect(meta, target_env=ENV)


@pytest.mark.slow
def test_trusted_toy_plugin_queried_once_per_session(
    tmp_path: Path,
    plugin_paths: PluginPaths,
    plugin_batches: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = plugin_batches
    monkeypatch.setenv("TOY_LEVEL", "4")
    meta = VariantMetadata(
        namespace_priorities=("toy", "blas"),
        providers={
            "toy": ProviderInfo("toy", requires=("toy-variant-provider >=0.1",)),  # api inferred
            "blas": ProviderInfo("blas", static_properties={"library": ("openblas", "mkl")}),
        },
    )
    s = session(
        tmp_path,
        trusted=("toy-variant-provider==0.1.0",),
        plugin_source=plugin_paths.source(),
        cache_dir=plugin_paths.cache_root,
    )
    for _ in range(3):
        support = s.detect(meta, target_env=ENV)
        assert support.properties == {
            "toy": {"level": ("v4", "v3", "v2", "v1"), "accel": ("cuda12",)}
        }
    assert calls == [["toy"]]
    monkeypatch.setenv("TOY_LEVEL", "1")  # the environment changed: ask again
    assert s.detect(meta, target_env=ENV).properties["toy"]["level"] == ("v1",)
    assert calls == [["toy"], ["toy"]]


FAILURES = {
    "crash": ("vw_crash", "RuntimeError: detection library exploded"),
    "exit": ("vw_exit", "plugin process exited with code 7: fatal: segfault simulated"),
    "badtypes": ("vw_badtypes", "get_supported_configs()[0].values must be a list of str"),
    "wrongns": ("vw_wrongns", "plugin declares namespace 'somebody_else'"),
    "notsubset": ("vw_notsubset", "supported value 'warp' of feature 'speed' is not declared"),
    "hang": ("vw_hang", "timed out after 1 s (killed)"),
    "missing": ("vw_not_a_module", "'vw_not_a_module' is not provided by the trusted plugin"),
}


@pytest.mark.slow
def test_each_plugin_failure_is_one_warning(
    tmp_path: Path, plugin_paths: PluginPaths, plugin_batches: list[list[str]]
) -> None:
    queries = plugin_batches
    warnings: list[str] = []
    s = session(
        tmp_path,
        warnings,
        trusted=(TEST_PLUGINS,),
        plugin_source=plugin_paths.source(),
        cache_dir=plugin_paths.cache_root,
        timeout=1.0,
    )
    for ns, (module, reason) in FAILURES.items():
        meta = md(**{ns: plugin(ns, module)})
        for _ in range(2):
            support = s.detect(meta, target_env=ENV)
            assert ns not in support.properties
            assert reason in support.unavailable[ns], ns
    assert len(warnings) == len(FAILURES)
    assert queries == [[ns] for ns in FAILURES]  # each failing plugin ran once
    for line, (ns, (_module, reason)) in zip(warnings, FAILURES.items(), strict=True):
        assert line.startswith("plugin vw-test-plugins==1.0.0 failed: ")
        assert reason in line
        assert line.endswith(f"variants that need namespace '{ns}' are treated as incompatible")
        assert "\n" not in line


@pytest.mark.slow
def test_working_plugins_in_one_worker_and_strict_mode(
    tmp_path: Path, plugin_paths: PluginPaths
) -> None:
    opts: dict[str, Any] = {
        "trusted": (TEST_PLUGINS,),
        "plugin_source": plugin_paths.source(),
        "cache_dir": plugin_paths.cache_root,
    }
    meta = md(
        noisy=plugin("noisy", "vw_noisy"),
        legacy=plugin("legacy", "vw_legacy:V003Plugin"),
        crash=plugin("crash", "vw_crash"),
    )
    support = session(tmp_path, [], **opts).detect(meta, target_env=ENV)
    assert support.properties == {
        "noisy": {"speed": ("slow",), "color": ("blue", "red")},
        "legacy": {"gen": ("three", "one")},
    }
    assert "crash" in support.unavailable
    with pytest.raises(ProviderError, match="detection library exploded"):
        session(tmp_path, strict=True, **opts).detect(meta, target_env=ENV)


def test_abi_dependency_from_the_target_distributions(tmp_path: Path) -> None:
    meta = VariantMetadata(
        namespace_priorities=(),
        variants={"torch29": (VariantProperty("abi_dependency", "torch", "2.9"),)},
    )
    s = session(tmp_path)
    assert "abi_dependency" in s.detect(meta, target_env=ENV).unavailable
    support = s.detect(meta, target_env=ENV, installed={"torch": "2.9.1"}, adding={"numpy": "2"})
    assert support.properties["abi_dependency"] == {
        "numpy": ("2.0.0", "2.0", "2"),
        "torch": ("2.9.1", "2.9", "2"),
    }


def test_pep825_v01_namespaces_use_the_native_provider(tmp_path: Path, forced_gpu: None) -> None:
    meta = VariantMetadata(
        namespace_priorities=("nvidia", "mystery"),
        variants={"a": (VariantProperty("nvidia", "sm_arch", "90_real"),)},
    )
    support = session(tmp_path).detect(meta, target_env=ENV)
    assert support.properties["nvidia"]["sm_arch"][0] == "90_real"
    assert support.unavailable == {"mystery": "no provider known for namespace 'mystery'"}


def test_builtin_and_unknown_providers(tmp_path: Path, forced_gpu: None) -> None:
    meta = md(
        nvidia=ProviderInfo("nvidia", builtin="nvidia"),
        quantum=ProviderInfo("quantum", builtin="quantum"),
    )
    warnings: list[str] = []
    support = session(tmp_path, warnings).detect(meta, target_env=ENV)
    assert "nvidia" in support.properties
    assert support.unavailable == {
        "quantum": "builtin provider 'quantum' is not implemented by varwheel"
    }
    assert warnings == [
        "builtin provider 'quantum' is not implemented by varwheel; "
        "variants that need namespace 'quantum' are treated as incompatible"
    ]
    with pytest.raises(ProviderError, match="builtin provider 'quantum'"):
        session(tmp_path, strict=True).detect(meta, target_env=ENV)


def test_options_are_hashable_values() -> None:
    a = ProviderOptions(external={"tpu": ("/bin/tpu",)}, trusted=("a==1",))
    b = ProviderOptions(external={"tpu": ("/bin/tpu",)}, trusted=("a==1",))
    assert a == b and hash(a) == hash(b)
    assert len({a, b, ProviderOptions()}) == 2


def test_module_api_shares_one_session(tmp_path: Path, forced_gpu: None) -> None:
    options = ProviderOptions(cache_dir=tmp_path)
    assert session_for(options) is session_for(ProviderOptions(cache_dir=tmp_path))
    first = detect_support(md(nvidia=nvidia()), options, target_env=ENV)
    assert (
        first.properties["nvidia"]
        == detect_support(md(nvidia=nvidia()), options, target_env=ENV).properties["nvidia"]
    )


def test_detect_native_lists_every_native_namespace(tmp_path: Path, forced_gpu: None) -> None:
    results = {r.namespace: r for r in session(tmp_path).detect_native()}
    assert {"x86_64", "aarch64", "nvidia", "amd", "intel", "ascend"} <= set(results)
    nvidia = results["nvidia"].properties
    assert nvidia is not None and "sm_arch" in nvidia
    profile = tmp_path / "p.toml"
    profile.write_text("[properties.x86_64]\nlevel = ['v2', 'v1']\n")
    from_profile = session(tmp_path, profile=profile).detect_native()
    assert [(r.namespace, r.properties) for r in from_profile] == [
        ("x86_64", {"level": ("v2", "v1")})
    ]


@pytest.mark.slow
def test_uninstallable_trusted_plugin_is_one_warning(
    tmp_path: Path, plugin_paths: PluginPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    installs: list[object] = []
    real = runner.ensure_plugin_env

    def spy(pins: Any, **kw: Any) -> Any:
        installs.append(pins)
        return real(pins, **kw)

    monkeypatch.setattr(runner, "ensure_plugin_env", spy)
    warnings: list[str] = []
    meta = md(ghost=ProviderInfo("ghost", requires=("ghost-variant-provider>=1",)))
    s = session(
        tmp_path,
        warnings,
        trusted=("ghost-variant-provider==1.0",),
        plugin_source=plugin_paths.source(),
    )
    for _ in range(2):
        support = s.detect(meta, target_env=ENV)
        assert support.unavailable["ghost"].startswith(
            "installing provider plugin ghost-variant-provider==1.0 failed: "
        )
    assert len(warnings) == 1 and len(installs) == 1  # a failure is not retried in a session
    assert warnings[0].startswith("plugin ghost-variant-provider==1.0 failed: installing")
    assert not list((tmp_path / "cache" / "plugin-envs").iterdir())


def test_every_real_index_document(tmp_path: Path, real_index_dir: Path, forced_gpu: None) -> None:
    """The 96 published v0.0.3 ``*-variants.json``: every provider resolves to a native one,
    ``enable-if`` (e.g. on ``platform_machine``) follows the target, and nothing warns."""
    from varwheel.spec.metadata import load_variants_json

    files = sorted(real_index_dir.rglob("*-variants.json"))
    assert len(files) >= 90
    warnings: list[str] = []
    s = session(tmp_path, warnings)
    x86 = dict(ENV, platform_machine="x86_64")
    arm = dict(ENV, platform_machine="aarch64")
    seen: set[str] = set()
    for path in files:
        meta = load_variants_json(path.read_bytes(), source=str(path))
        for target in (x86, arm):
            support = s.detect(meta, target_env=target)
            seen |= set(support.properties)
            for why in support.unavailable.values():
                assert why.startswith("enable-if"), (path, why)
        if "aarch64" in meta.providers and meta.providers["aarch64"].enable_if:
            assert "aarch64" in s.detect(meta, target_env=x86).unavailable
    assert warnings == []
    assert {"nvidia", "x86_64"} <= seen
