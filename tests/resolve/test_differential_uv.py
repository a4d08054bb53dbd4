"""Differential: varwheel's wheel choices against uv 0.13.9 (``--preview-features wheel-variants``).

Both installers run as subprocesses, ``--dry-run``, on the same real wheels (find-links
directories, and a static index served on 127.0.0.1) and the same empty venv. Where they agree
the test also checks the choice against the PEP 825 rule that decides it; where they differ it
asserts varwheel's choice, cites the rule we follow and pins uv's observed behaviour, so a uv
upgrade that changes it shows up here (reference/peers.md §3.3).

x86_64 workloads are built around this host's level as archspec (not varwheel) sees it.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.envs import make_venv
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel, wheel_filename
from resolve.uv_workloads import (
    AARCH64,
    NVIDIA,
    NVIDIA_REQUIRES,
    X86,
    Choice,
    WheelSpec,
    Workload,
    run_uv,
    run_varwheel,
    uv_environment,
    write_workload,
)
from varwheel.index.static import write_static_index

pytestmark = pytest.mark.slow

W = WheelSpec
# A CUDA 12.8 driver with an SM 9.0 GPU: override variables both uv (names found in its binary)
# and varwheel's native nvidia provider honour.
GPU = {
    "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.8",
    "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "9.0",
}
CU12 = "nvidia :: cuda_version_lower_bound :: 12.0"


def host_x86_level() -> int:
    """This CPU's x86-64 microarchitecture level per archspec (0: not an x86-64 host)."""
    import archspec.cpu

    host = archspec.cpu.host()
    if host.family.name != "x86_64":
        return 0
    names = [host.generic.name, *(t.name for t in host.generic.ancestors)]
    levels = [int(n.rsplit("_v", 1)[1]) for n in names if n.startswith("x86_64_v")]
    return min(max(levels, default=1), 4)


def host_has(flag: str) -> bool:
    import archspec.cpu

    return flag in archspec.cpu.host().features


def nvidia_gpu_present() -> bool:
    """An NVIDIA kernel driver is loaded (both tools would then detect a real GPU)."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()


def hardware_present(workload: Workload, env: Mapping[str, str]) -> str | None:
    """Why this host would support a namespace a workload assumes absent (None: it does not)."""
    used = {p.split("::")[0].strip() for spec in workload.wheels for p in spec.properties}
    if "nvidia" in used and nvidia_gpu_present() and not any(k in env for k in GPU):
        return "this host has an NVIDIA GPU; the workload assumes none"
    if "aarch64" in used and platform.machine().lower() in ("aarch64", "arm64"):
        return "this host is AArch64; the workload assumes another CPU"
    return None


def level(k: int) -> str:
    return f"x86_64 :: level :: v{k}"


def level_wheels() -> tuple[WheelSpec, ...]:
    """x86_64_v1..v4, null and the non-variant wheel (the W2 benchmark's tinypkg shape)."""
    return (*(W(f"x86_64_v{k}", (level(k),)) for k in range(1, 5)), W("null"), W(None))


@dataclass(frozen=True)
class Case:
    """One workload, the wheel varwheel must choose (``ours``, None = refuses), uv's observed
    choice (``uv``, None = refuses) and the rule that decides."""

    workload: Workload
    ours: WheelSpec | None
    uv: WheelSpec | None
    rule: str
    env: Mapping[str, str] = field(default_factory=dict)
    needs_x86: bool = False


def filename(workload: Workload, spec: WheelSpec) -> str:
    return wheel_filename(
        workload.name, "1.0", spec.tags, label=spec.label, build_tag=spec.build_tag
    )


def _levels(top: int) -> Case:
    wheels = level_wheels()
    best = wheels[top - 1] if top else wheels[4]
    wl = Workload("dv-levels", wheels, X86, ("x86_64",))
    return Case(wl, best, best, "PEP 825: best supported value of x86_64 :: level", needs_x86=True)


def _flags(top: int) -> Case:
    avx2, avx512 = W("avx2", ("x86_64 :: avx2 :: on",)), W("avx512f", ("x86_64 :: avx512f :: on",))
    plain = W(None)
    wl = Workload("dv-flags", (avx2, avx512, plain), X86, ("x86_64",))
    ours = avx512 if host_has("avx512f") else avx2 if host_has("avx2") else plain
    return Case(
        wl,
        ours,
        plain,
        "provider-variant-x86-64 reports ISA flags (value `on`, newest microarchitecture first); "
        "uv 0.13.9's vendored x86_64 provider reports only `level`, so every flag variant is "
        "unsupported there and uv falls back to the non-variant wheel",
        needs_x86=True,
    )


def _prefix(top: int) -> Case:
    short = W("lvl", (level(max(top, 3)),))
    longer = W("lvl_avx2", (level(max(top, 3)), "x86_64 :: avx2 :: on"))
    wl = Workload("dv-prefix", (short, longer, W(None)), X86, ("x86_64",))
    ok = top >= 3 and host_has("avx2")
    return Case(
        wl,
        longer if ok else W(None),
        short if ok else W(None),
        "PEP 825: key lists compared element-wise, the longer list wins a prefix tie; uv 0.13.9 "
        "does not know the avx2 feature and keeps the level-only variant",
        needs_x86=True,
    )


def _tie(top: int) -> Case:
    a = W("a", (level(2),))
    b = W("b", (level(1), level(2)))
    wl = Workload("dv-tie", (b, a, W(None)), X86, ("x86_64",))
    return Case(
        wl,
        a,
        a,
        "PEP 825: equal keys (best value v2 for both; a multi-value feature counts its best "
        "supported value) -> label ascending",
        needs_x86=True,
    )


def _absent(top: int) -> Case:
    null = W("null")
    wl = Workload(
        "dv-absent",
        (W("cu12", (CU12,)), W("armv8", ("aarch64 :: version :: 8a",)), null, W(None)),
        {**NVIDIA, **AARCH64},
        ("nvidia", "aarch64"),
    )
    return Case(
        wl,
        null,
        null,
        "no GPU, not AArch64: both variants unsupported; null before "
        "the non-variant wheel (PEP 825)",
    )


def _absent_only(top: int) -> Case:
    wl = Workload(
        "dv-absent-only",
        (W("cu12", (CU12,)), W("armv8", ("aarch64 :: version :: 8a",))),
        {**NVIDIA, **AARCH64},
        ("nvidia", "aarch64"),
    )
    return Case(wl, None, None, "only unsupported variants: no installable wheel")


def _gpu(top: int) -> Case:
    cu128 = W("cu128", ("nvidia :: cuda_version_lower_bound :: 12.8",))
    wl = Workload(
        "dv-gpu",
        (
            W("cu12", (CU12,)),
            cu128,
            W("cu13", ("nvidia :: cuda_version_lower_bound :: 13.0",)),
            W("sm90", ("nvidia :: sm_arch :: 90_real",)),
            W("null"),
            W(None),
        ),
        NVIDIA,
        ("nvidia",),
    )
    return Case(
        wl,
        cu128,
        cu128,
        "forced CUDA 12.8: lower bound 12.8 is the most preferred supported value, 13.0 is "
        "unsupported, cuda_version_lower_bound precedes sm_arch in the provider's feature order",
        env=GPU,
    )


def _namespace_order(top: int) -> Case:
    cu12, v1 = W("cu12", (CU12,)), W("v1", (level(1),))
    wl = Workload(
        "dv-ns-order", (v1, cu12, W("null"), W(None)), {**NVIDIA, **X86}, ("nvidia", "x86_64")
    )
    return Case(
        wl,
        cu12,
        cu12,
        "PEP 825: default-priorities.namespace order (nvidia first)",
        env=GPU,
        needs_x86=True,
    )


def _static(top: int) -> Case:
    providers = {
        "blas": {
            "static-properties": {"library": ["openblas", "mkl"], "threading": ["omp"]},
            "feature-order": ["threading", "library"],
        }
    }
    omp = W("omp", ("blas :: threading :: omp",))
    wl = Workload(
        "dv-static",
        (
            W("mkl", ("blas :: library :: mkl",)),
            W("openblas", ("blas :: library :: openblas",)),
            omp,
            W(None),
        ),
        providers,
        ("blas",),
    )
    return Case(wl, omp, omp, "PEP 850 static-properties: feature-order puts threading first")


def _static_values(top: int) -> Case:
    providers = {"blas": {"static-properties": {"library": ["openblas", "mkl"]}}}
    openblas = W("openblas", ("blas :: library :: openblas",))
    wl = Workload(
        "dv-static-values",
        (W("mkl", ("blas :: library :: mkl",)), openblas, W(None)),
        providers,
        ("blas",),
    )
    return Case(wl, openblas, openblas, "static-properties value order: openblas before mkl")


def _tags(top: int) -> Case:
    best = W("best", (level(top),), tags="py3-none-any")
    wl = Workload(
        "dv-tags",
        (
            best,
            W("lower", (level(max(top - 1, 1)),), tags="cp311-cp311-manylinux_2_17_x86_64"),
            W(None, tags="cp311-cp311-manylinux_2_17_x86_64"),
        ),
        X86,
        ("x86_64",),
    )
    return Case(
        wl,
        best,
        best,
        "variant order first, platform tags only inside a variant (PEP 817 §6.5)",
        needs_x86=True,
    )


def _tags_same_label(top: int) -> Case:
    specific = W("best", (level(top),), tags="cp311-cp311-manylinux_2_17_x86_64")
    wl = Workload(
        "dv-tags-label",
        (W("best", (level(top),), tags="py3-none-any"), specific, W(None)),
        X86,
        ("x86_64",),
    )
    return Case(
        wl, specific, specific, "same label: the more specific platform tag wins", needs_x86=True
    )


def _build_tags(top: int) -> Case:
    b2 = W("best", (level(top),), build_tag="2")
    wl = Workload(
        "dv-build",
        (
            W("best", (level(top),), build_tag="1"),
            b2,
            W("lower", (level(max(top - 1, 1)),), build_tag="9"),
            W(None, build_tag="10"),
        ),
        X86,
        ("x86_64",),
    )
    return Case(wl, b2, b2, "build tag only breaks ties inside one variant and tag", needs_x86=True)


def _plain_deps(top: int) -> Case:
    reqs = ("dv-dep-a", "dv-dep-b; python_version < '3'")
    best = W("best", (level(top),), requires_dist=reqs)
    wl = Workload(
        "dv-deps",
        (W("lower", (level(max(top - 1, 1)),), requires_dist=reqs), best),
        X86,
        ("x86_64",),
        deps=("dv-dep-a", "dv-dep-b"),
    )
    return Case(
        wl, best, best, "dependency set of the chosen variant (plain markers)", needs_x86=True
    )


def _no_variants_json(top: int) -> Case:
    best = W("best", (level(top),))
    wl = Workload("dv-no-index-json", (best, W(None)), X86, ("x86_64",), variants_json=False)
    return Case(
        wl,
        best,
        W(None),
        "PEP 817 §6.2: each wheel's own variant.json describes it; uv 0.13.9 reads variant "
        "metadata only from `*-variants.json` and otherwise takes the non-variant wheel",
        needs_x86=True,
    )


def _inferred_plugin_api(top: int) -> Case:
    cu12 = W("cu12", (CU12,))
    providers = {"nvidia": {"requires": NVIDIA_REQUIRES}}
    wl = Workload("dv-no-plugin-api", (cu12, W("null"), W(None)), providers, ("nvidia",))
    return Case(
        wl,
        cu12,
        W("null"),
        "providers/registry.py accepts the PEP 817 inferred plugin-api (the bare module "
        "`nvidia_variant_provider`) for the native nvidia provider; uv 0.13.9 maps nvidia only "
        "by the explicit `plugin:NvidiaVariantPlugin` (yet x86_64 by `requires` alone) and "
        "skips the namespace. The published module itself exposes no plugin API, so a "
        "plugin-running installer would fail to load it: an open question for the integrator",
        env=GPU,
    )


def _unlisted_label(top: int) -> Case:
    best, lower = W("best", (level(top),)), W("lower", (level(top - 1),))
    wl = Workload("dv-unlisted", (best, lower, W(None)), X86, ("x86_64",), unlisted=("best",))
    return Case(
        wl,
        lower,
        lower,
        "PEP 817 §6.1 step 6: a label missing from `*-variants.json` makes its wheel incompatible",
        needs_x86=True,
    )


def _unlisted_null(top: int) -> Case:
    null = W("null")
    wl = Workload(
        "dv-unlisted-null",
        (W("cu12", (CU12,)), null, W(None)),
        NVIDIA,
        ("nvidia",),
        unlisted=("null",),
    )
    return Case(
        wl,
        null,
        W(None),
        "PEP 825: the null variant (no properties) is always compatible, listed or not (the PEP "
        "817 index example omits it; spec-digest §6.6); uv 0.13.9 drops an unlisted null wheel "
        "and takes the non-variant one",
    )


def _unknown_plugin(top: int) -> Case:
    null = W("null")
    wl = Workload(
        "dv-unknown-plugin",
        (W("fast", ("acme :: speed :: fast",)), null, W(None)),
        {"acme": {"requires": ["acme-variant-provider"]}},
        ("acme",),
    )
    return Case(
        wl,
        null,
        null,
        "an untrusted/unknown plugin's namespace is unsupported (no "
        "plugin is installed or run): null variant",
    )


def _optional_static(top: int) -> Case:
    plain = W(None)
    wl = Workload(
        "dv-optional",
        (W("mkl", ("blas :: library :: mkl",)), plain),
        {"blas": {"static-properties": {"library": ["mkl"]}, "optional": True}},
        ("blas",),
    )
    return Case(
        wl,
        plain,
        plain,
        "PEP 850 optional provider: its properties are incompatible unless enabled",
    )


CASES: dict[str, Callable[[int], Case]] = {
    "levels": _levels,
    "isa-flags": _flags,
    "prefix-tie": _prefix,
    "label-tie": _tie,
    "absent-hardware": _absent,
    "absent-hardware-only": _absent_only,
    "gpu-forced": _gpu,
    "namespace-order": _namespace_order,
    "static-feature-order": _static,
    "static-value-order": _static_values,
    "variant-before-tags": _tags,
    "tags-inside-variant": _tags_same_label,
    "build-tags": _build_tags,
    "plain-dependencies": _plain_deps,
    "no-variants-json": _no_variants_json,
    "nvidia-without-plugin-api": _inferred_plugin_api,
    "unlisted-label": _unlisted_label,
    "unlisted-null": _unlisted_null,
    "unknown-plugin": _unknown_plugin,
    "optional-static": _optional_static,
}


@dataclass(frozen=True)
class Sandbox:
    uv: str
    root: Path
    venv: Path
    cache: Path
    top: int

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return uv_environment(self.cache, extra)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (needed for the differential against uv 0.13.9)")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout
    if not version.startswith("uv 0.13.9"):
        pytest.skip(f"differential pinned to uv 0.13.9, found {version.strip()!r}")
    root = tmp_path_factory.mktemp("uvdiff")
    cache = root / "cache"
    cache.mkdir()
    (cache / "varwheel-config.toml").write_text("")
    return Sandbox(uv, root, make_venv(root / "venv"), cache, host_x86_level())


def run_both(sb: Sandbox, case: Case, links: Path) -> tuple[Choice, Choice]:
    env = sb.env(case.env)
    reqs = [case.workload.name]
    return (
        run_uv(sb.uv, reqs, venv=sb.venv, env=env, links=links),
        run_varwheel(reqs, venv=sb.venv, env=env, links=links),
    )


@pytest.mark.parametrize("name", list(CASES))
def test_choice_against_uv(sandbox: Sandbox, name: str) -> None:
    case = CASES[name](sandbox.top)
    if case.needs_x86 and sandbox.top < 2:
        pytest.skip("x86_64 workload: needs an x86-64-v2 or newer host")
    if (why := hardware_present(case.workload, case.env)) is not None:
        pytest.skip(why)
    wl = case.workload
    links = write_workload(wl, sandbox.root / name)
    uv, ours = run_both(sandbox, case, links)
    expected = None if case.ours is None else filename(wl, case.ours)
    uv_expected = None if case.uv is None else filename(wl, case.uv)
    assert ours.files.get(wl.name) == expected, f"{case.rule}\n{ours.log}"
    if case.ours is None:
        assert ours.error is not None and "no wheel for this target" in ours.error
    assert uv.files.get(wl.name) == uv_expected, f"uv changed: {case.rule}\n{uv.log}"
    if case.uv is None:
        assert uv.error is not None and "only unsupported wheel variants" in uv.error
    if case.ours == case.uv:
        # Agreement also covers the dependencies each installer resolved.
        assert ours.files == uv.files
    for dep in wl.deps:
        if dep == "dv-dep-a":
            assert ours.files[dep] == wheel_filename(dep, "1.0")
        else:
            assert dep not in ours.files


def test_variant_markers_select_dependencies_uv_refuses(sandbox: Sandbox) -> None:
    """PEP 825 §"Environment markers": markers see the chosen wheel's supported properties.
    uv 0.13.9 does not parse variant markers at all: the metadata is "invalid" and it refuses."""
    if sandbox.top < 2:
        pytest.skip("x86_64 workload: needs an x86-64-v2 or newer host")
    top = sandbox.top
    reqs = (
        f'dv-m-top; "{level(top)}" in variant_properties',
        'dv-m-x86; "x86_64" in variant_namespaces',
        'dv-m-gpu; "nvidia :: cuda_version_lower_bound" in variant_features',
        'dv-m-plain; variant_label == ""',
    )
    best = W("best", (level(top),), requires_dist=reqs)
    wl = Workload(
        "dv-markers",
        (W("lower", (level(top - 1),), requires_dist=reqs), best, W(None, requires_dist=reqs)),
        X86,
        ("x86_64",),
        deps=("dv-m-top", "dv-m-x86", "dv-m-gpu", "dv-m-plain"),
    )
    links = write_workload(wl, sandbox.root / "markers")
    uv, ours = run_both(sandbox, Case(wl, best, None, ""), links)
    assert ours.files == {
        "dv-markers": filename(wl, best),
        "dv-m-top": wheel_filename("dv-m-top", "1.0"),
        "dv-m-x86": wheel_filename("dv-m-x86", "1.0"),
    }
    assert uv.error is not None and "invalid metadata" in uv.error
    assert "variant_properties" in uv.error or "variant_namespaces" in uv.error


def test_markers_see_only_supported_properties_uv_refuses(sandbox: Sandbox) -> None:
    """PEP 825: `variant_properties` is filtered to what the target supports. A wheel built for
    SM 9.0 and 12.0 on a forced SM 9.0 GPU: the 90_real atom holds, the 120_real one does not,
    and the feature is still present (filtering never removes a whole supported feature)."""
    reqs = (
        'dv-s-90; "nvidia :: sm_arch :: 90_real" in variant_properties',
        'dv-s-120; "nvidia :: sm_arch :: 120_real" in variant_properties',
        'dv-s-feature; "nvidia :: sm_arch" in variant_features',
        'dv-s-null; variant_label == "null"',
    )
    fat = W(
        "fat", ("nvidia :: sm_arch :: 90_real", "nvidia :: sm_arch :: 120_real"), requires_dist=reqs
    )
    wl = Workload(
        "dv-sm",
        (fat, W("null", requires_dist=reqs)),
        NVIDIA,
        ("nvidia",),
        deps=("dv-s-90", "dv-s-120", "dv-s-feature", "dv-s-null"),
    )
    links = write_workload(wl, sandbox.root / "sm-markers")
    uv, ours = run_both(sandbox, Case(wl, fat, None, "", env=GPU), links)
    assert ours.files == {
        "dv-sm": filename(wl, fat),
        "dv-s-90": wheel_filename("dv-s-90", "1.0"),
        "dv-s-feature": wheel_filename("dv-s-feature", "1.0"),
    }, ours.log
    assert uv.error is not None and "invalid metadata" in uv.error
    # Without a GPU the null variant is chosen and only its label marker applies.
    if hardware_present(wl, {}) is not None:
        return
    _, cpu = run_both(sandbox, Case(wl, None, None, ""), links)
    assert cpu.files == {
        "dv-sm": filename(wl, W("null")),
        "dv-s-null": wheel_filename("dv-s-null", "1.0"),
    }, cpu.log


def test_static_index_over_http(sandbox: Sandbox) -> None:
    """The same choice from a static PEP 503/691 index on 127.0.0.1 whose `*-variants.json` is
    generated by write_static_index. uv's UV_OFFLINE would refuse even loopback, so it is left
    out here: uv talks only to the --index-url given."""
    if sandbox.top < 2:
        pytest.skip("x86_64 workload: needs an x86-64-v2 or newer host")
    top = sandbox.top
    wheels = level_wheels()
    wl = Workload("dv-http", wheels, X86, ("x86_64",), variants_json=False)
    built = write_workload(wl, sandbox.root / "http-wheels")
    site = write_static_index(
        sorted(built.iterdir()), sandbox.root / "site", generate_variants_json=True
    )
    env = sandbox.env()
    del env["UV_OFFLINE"]
    with serve_directory(site) as server:
        url = server.url + "simple/"
        uv = run_uv(sandbox.uv, [wl.name], venv=sandbox.venv, env=env, index_url=url)
        ours = run_varwheel([wl.name], venv=sandbox.venv, env=env, index_url=url)
        paths = {r.path for r in server.stats.snapshot()}
    expected = filename(wl, wheels[top - 1])
    assert ours.files == {wl.name: expected}, ours.log
    assert uv.files == {wl.name: expected}, uv.log
    assert "/files/dv_http-1.0-variants.json" in paths


LOCAL_WHEELS = {
    # label -> (varwheel accepts, uv accepts): PEP 817 §6.2, a local wheel is checked against
    # its own variant.json and the target's support.
    "top": (True, True),
    "null": (True, True),
    "cu12": (False, False),  # no GPU (no FORCE variables here)
    "avx512": (True, False),  # uv 0.13.9's x86_64 provider has no ISA flags (see isa-flags)
}


@pytest.mark.parametrize("label", list(LOCAL_WHEELS))
def test_local_wheel_path_against_uv(sandbox: Sandbox, label: str) -> None:
    if sandbox.top < 2:
        pytest.skip("x86_64 workload: needs an x86-64-v2 or newer host")
    if label == "avx512" and not host_has("avx512f"):
        pytest.skip("needs an AVX-512 host")
    specs = {
        "top": W("top", (level(sandbox.top),)),
        "null": W("null"),
        "cu12": W("cu12", (CU12,)),
        "avx512": W("avx512", ("x86_64 :: avx512f :: on",)),
    }
    wl = Workload("dv-local", (specs[label],), {**X86, **NVIDIA}, ("nvidia", "x86_64"))
    if (why := hardware_present(wl, {})) is not None:
        pytest.skip(why)
    wheel = write_workload(wl, sandbox.root / f"local-{label}") / filename(wl, specs[label])
    env = sandbox.env()
    uv = run_uv(sandbox.uv, [str(wheel)], venv=sandbox.venv, env=env)
    ours = run_varwheel([str(wheel)], venv=sandbox.venv, env=env)
    ours_ok, uv_ok = LOCAL_WHEELS[label]
    assert ours.files == ({wl.name: wheel.name} if ours_ok else {}), ours.log
    assert uv.files == ({wl.name: wheel.name} if uv_ok else {}), uv.log
    if not uv_ok:
        assert uv.error is not None and "only unsupported wheel variants" in uv.error
    if not ours_ok:
        assert ours.error is not None and "no wheel for this target" in ours.error


@pytest.fixture(scope="module")
def installed_lower(sandbox: Sandbox) -> tuple[Workload, Path, dict[str, Path]]:
    """Project `dv-up` with the host's best level and the one below; each installer really
    installs the lower one (a local path) into its own venv, as if the CPU had been upgraded."""
    top = sandbox.top
    if top < 2:
        pytest.skip("x86_64 workload: needs an x86-64-v2 or newer host")
    wl = Workload(
        "dv-up", (W("lower", (level(top - 1),)), W("best", (level(top),))), X86, ("x86_64",)
    )
    links = write_workload(wl, sandbox.root / "upgrade")
    lower = links / filename(wl, W("lower", (level(top - 1),)))
    venvs = {tool: make_venv(sandbox.root / f"venv-up-{tool}") for tool in ("uv", "varwheel")}
    commands = {
        "uv": [
            sandbox.uv,
            "pip",
            "install",
            "--python",
            str(venvs["uv"] / "bin" / "python"),
            "--preview-features",
            "wheel-variants",
            "--no-index",
            str(lower),
        ],
        "varwheel": [
            sys.executable,
            "-m",
            "varwheel",
            "install",
            "--python",
            str(venvs["varwheel"]),
            "--no-index",
            str(lower),
        ],
    }
    for command in commands.values():
        subprocess.run(command, check=True, capture_output=True, env=sandbox.env(), timeout=60)
    return wl, links, venvs


@pytest.mark.parametrize(
    ("flags", "ours_upgrades", "uv_upgrades"),
    [((), False, False), (("-U",), True, False), (("--force-reinstall",), True, True)],
    ids=["plain", "upgrade", "reinstall"],
)
def test_installed_lower_variant_against_uv(
    sandbox: Sandbox,
    installed_lower: tuple[Workload, Path, dict[str, Path]],
    flags: tuple[str, ...],
    ours_upgrades: bool,
    uv_upgrades: bool,
) -> None:
    """An installed distribution satisfies a plain install in both. With --upgrade varwheel
    moves to the better variant of the same version (DESIGN resolve/provider.py: the installed
    one is kept only with the best candidate's version and label); uv 0.13.9 compares versions
    only and keeps it (its own test_variants.sh TODO, peers.md §3.2)."""
    wl, links, venvs = installed_lower
    best = {wl.name: filename(wl, W("best", (level(sandbox.top),)))}
    uv_flags = ["--reinstall" if f == "--force-reinstall" else f for f in flags]
    env = sandbox.env()
    uv = run_uv(sandbox.uv, [*uv_flags, wl.name], venv=venvs["uv"], env=env, links=links)
    ours = run_varwheel([*flags, wl.name], venv=venvs["varwheel"], env=env, links=links)
    assert ours.error is None and uv.error is None, (ours.log, uv.log)
    assert ours.files == (best if ours_upgrades else {}), ours.log
    assert uv.files == (best if uv_upgrades else {}), uv.log


@pytest.fixture(scope="module")
def torch_links(sandbox: Sandbox) -> Iterator[Path]:
    """Real torch 2.9.0 `*-variants.json` (schema v0.0.3) beside one small wheel per label."""
    src = Path(__file__).resolve().parents[2] / "demo" / "data" / "simple" / "torch"
    doc_path = src / "torch-2.9.0-variants.json"
    if not doc_path.is_file():
        pytest.fail(f"demo data missing: {doc_path}")
    links = sandbox.root / "torch"
    links.mkdir()
    shutil.copy(doc_path, links / doc_path.name)
    doc = json.loads(doc_path.read_text())
    for label, props in doc["variants"].items():
        build_wheel(
            links, "torch", "2.9.0", label=label, variant={**doc, "variants": {label: props}}
        )
    yield links


def explain_choice(sandbox: Sandbox, links: Path, env: Mapping[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "varwheel",
            "explain",
            "--json",
            "--no-index",
            "-f",
            str(links),
            "--python",
            str(sandbox.venv),
            "torch",
        ],
        capture_output=True,
        text=True,
        env=sandbox.env(env),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    package = json.loads(proc.stdout)["packages"][0]
    assert package["metadata_route"] == "index variants.json"
    return package


@pytest.mark.parametrize(("env", "label"), [(GPU, "cuda12.8"), ({}, "null")], ids=["gpu", "cpu"])
def test_torch_v003_metadata_uv_refuses_varwheel_resolves(
    sandbox: Sandbox, torch_links: Path, env: Mapping[str, str], label: str
) -> None:
    """Capability difference: uv 0.13.9 knows only the PEP 825 v0.1.1 / PEP 850 v0.2.0 schema
    URLs and rejects the published v0.0.3 metadata; varwheel reads every generation. With a
    forced CUDA 12.8 driver, cuda12.6 and cuda12.8 are both supported and torch's static
    `priority :: order` values rank cuda12.8 first (PEP 817 property priorities)."""
    if not env and nvidia_gpu_present():
        pytest.skip("this host has an NVIDIA GPU; the cpu case assumes none")
    uv = run_uv(sandbox.uv, ["torch"], venv=sandbox.venv, env=sandbox.env(env), links=torch_links)
    assert uv.files == {}
    assert uv.error is not None and "Unknown variant metadata schema" in uv.error
    assert "v0.0.3.json" in uv.error
    chosen = explain_choice(sandbox, torch_links, env)["chosen"]
    assert isinstance(chosen, dict)
    assert chosen["label"] == label
    assert chosen["filename"] == f"torch-2.9.0-py3-none-any-{label}.whl"


# Generated workloads over features both installers detect natively here (x86_64 level, nvidia
# with forced drivers, aarch64 (absent), a static-properties namespace): the choices must be equal.
STATIC_BLAS = ("openblas", "mkl", "accelerate")
POOL = {
    "x86_64 :: level": ("v1", "v2", "v3", "v4"),
    "nvidia :: cuda_version_lower_bound": ("11.8", "12.0", "12.8", "13.0"),
    "nvidia :: sm_arch": ("80_real", "90_real", "90_virtual"),
    "aarch64 :: version": ("8a", "8.1a"),
    "blas :: library": STATIC_BLAS,
}


# Tag sets this CPython 3.11 x86_64 Linux venv accepts, most and least specific, plus one it
# rejects; compressed sets expand to several tags.
TAG_POOL = (
    "py3-none-any",
    "py2.py3-none-any",
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-abi3-linux_x86_64",
    "cp39-abi3-manylinux_2_28_x86_64",
    "cp311-cp311-win_amd64",
)


def builds() -> st.SearchStrategy[list[tuple[str, str | None]]]:
    """1-2 distinct (tags, build tag) pairs for one label's wheels."""
    pair = st.tuples(st.sampled_from(TAG_POOL), st.sampled_from([None, "1", "7"]))
    return st.lists(pair, min_size=1, max_size=2, unique=True)


@st.composite
def generated_workloads(draw: st.DrawFn) -> Workload:
    blas_order = draw(st.permutations(STATIC_BLAS))
    supported_blas = draw(st.integers(1, 3))
    providers = {
        **X86,
        **NVIDIA,
        **AARCH64,
        "blas": {"static-properties": {"library": list(blas_order[:supported_blas])}},
    }
    namespaces = tuple(draw(st.permutations(("x86_64", "nvidia", "aarch64", "blas"))))
    labels = draw(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=5, unique=True))
    wheels: list[WheelSpec] = []
    for label in labels:
        features = draw(
            st.lists(st.sampled_from(sorted(POOL)), min_size=1, max_size=3, unique=True)
        )
        props = tuple(
            f"{feature} :: {value}"
            for feature in features
            for value in draw(
                st.lists(st.sampled_from(POOL[feature]), min_size=1, max_size=2, unique=True)
            )
        )
        wheels += [W(label, props, tags, build) for tags, build in draw(builds())]
    if draw(st.booleans()):
        wheels += [W("null", (), tags, build) for tags, build in draw(builds())]
    if draw(st.booleans()):
        wheels += [W(None, (), tags, build) for tags, build in draw(builds())]
    return Workload("dv-gen", tuple(wheels), providers, namespaces)


def wheel_rank(name: str) -> tuple[str | None, tuple[int, str] | tuple[()], int]:
    """(label, build tag, index of the wheel's best tag in this interpreter's sys_tags)."""
    from packaging.tags import sys_tags

    from varwheel.spec.filenames import parse_wheel_filename

    wf = parse_wheel_filename(name)
    order = {tag: i for i, tag in enumerate(sys_tags())}
    return wf.label, wf.build, min(order.get(tag, len(order)) for tag in wf.tags)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    workload=generated_workloads(),
    gpu=st.sampled_from([None, ("12.0", "8.0"), ("12.8", "9.0"), ("13.0", "9.0")]),
)
def test_generated_workloads_agree_with_uv(
    sandbox: Sandbox, workload: Workload, gpu: tuple[str, str] | None
) -> None:
    if sandbox.top < 2:
        pytest.skip("x86_64 workload: needs an x86-64-v2 or newer host")
    links = Path(tempfile.mkdtemp(dir=sandbox.root, prefix="gen-"))
    write_workload(workload, links)
    env = {} if gpu is None else dict(zip(GPU, gpu, strict=True))
    uv, ours = run_both(sandbox, Case(workload, None, None, "", env=env), links)
    assert (ours.error is None) == (uv.error is None), (ours.error, uv.error)
    mine, theirs = ours.files.get(workload.name), uv.files.get(workload.name)
    if mine != theirs and mine is not None and theirs is not None:
        # Two wheels of one label whose best tag and build tag are equal (`py3-none-any` and
        # `py2.py3-none-any`) are a real tie that no PEP orders: varwheel takes the first
        # filename (select_wheels), uv 0.13.9 was seen taking `py3-none-any`.
        assert wheel_rank(mine) == wheel_rank(theirs), (workload, mine, theirs)
    else:
        assert mine == theirs, (workload, ours.log)
