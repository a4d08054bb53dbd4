"""Provider-informed build settings: flags per property, per backend, overrides, and what a real
compiler makes of them."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from varwheel.build.settings import (
    BuildSettings,
    apply_env,
    compiler_settings,
    settings_for,
)
from varwheel.spec.properties import VariantProperty

P = VariantProperty.parse


@pytest.mark.parametrize(
    ("value", "march"),
    [("v1", "-march=x86-64"), ("v2", "-march=x86-64-v2"), ("v3", "-march=x86-64-v3"),
     ("v4", "-march=x86-64-v4")],
)  # fmt: skip
def test_x86_64_level_sets_march_for_c_and_cxx(value: str, march: str) -> None:
    settings = settings_for([P(f"x86_64 :: level :: {value}")])
    assert settings.env == {"CFLAGS": march, "CXXFLAGS": march}
    assert settings.config_settings == {}


def test_x86_64_features_add_m_options_in_canonical_order() -> None:
    settings = settings_for(
        [P("x86_64 :: sse4_2 :: on"), P("x86_64 :: avx2 :: on"), P("x86_64 :: cppc :: on")]
    )
    # cppc has no compiler option: nothing, rather than a flag GCC would reject
    assert settings.env["CFLAGS"] == "-mavx2 -msse4.2"


@pytest.mark.parametrize(
    ("value", "march"),
    [("8a", "-march=armv8-a"), ("8.1a", "-march=armv8.1-a"), ("9.0a", "-march=armv9-a")],
)
def test_aarch64_version(value: str, march: str) -> None:
    assert settings_for([P(f"aarch64 :: version :: {value}")]).env["CFLAGS"] == march


def test_aarch64_features_extend_the_version_march() -> None:
    settings = settings_for(
        [P("aarch64 :: version :: 8.2a"), P("aarch64 :: sve :: on"), P("aarch64 :: asimddp :: on")]
    )
    assert settings.env["CFLAGS"] == "-march=armv8.2-a+dotprod+sve"


def test_nvidia_sm_arch_env_and_cmake_define_for_scikit_build_core() -> None:
    props = [P("nvidia :: sm_arch :: 90_real"), P("nvidia :: sm_arch :: 80_virtual")]
    plain = settings_for(props, backend="setuptools.build_meta")
    assert plain.env == {
        "CUDAARCHS": "80-virtual;90-real",
        "NVCC_APPEND_FLAGS": "-gencode arch=compute_80,code=compute_80 "
        "-gencode arch=compute_90,code=sm_90",
    }
    assert plain.config_settings == {}
    skb = settings_for(props, backend="scikit_build_core.build")
    assert skb.config_settings == {"cmake.define.CMAKE_CUDA_ARCHITECTURES": "80-virtual;90-real"}
    assert (
        "cmake.define.CMAKE_CUDA_ARCHITECTURES"
        not in settings_for(props, backend="mesonpy").config_settings
    )


def test_cuda_version_bounds_and_unknown_namespaces_contribute_nothing() -> None:
    assert not compiler_settings(P("nvidia :: cuda_version_lower_bound :: 12.4")).cflags
    assert not settings_for([P("blas_lapack :: provider :: mkl"), P("acme :: fast :: yes")])


def test_overrides_replace_key_by_key() -> None:
    over = BuildSettings(
        env={"CFLAGS": "-O3 -march=native"}, config_settings={"setup-args": ("-Dx=1",)}
    )
    settings = settings_for([P("x86_64 :: level :: v3")], overrides=over)
    assert settings.env == {"CFLAGS": "-O3 -march=native", "CXXFLAGS": "-march=x86-64-v3"}
    assert settings.config_settings == {"setup-args": ("-Dx=1",)}
    assert settings.as_lines() == (
        "CFLAGS='-O3 -march=native'",
        "CXXFLAGS=-march=x86-64-v3",
        "-Csetup-args=-Dx=1",
    )


def test_apply_env_appends_flags_and_replaces_others() -> None:
    settings = BuildSettings(env={"CFLAGS": "-march=x86-64-v3", "CUDAARCHS": "90-real"})
    env = apply_env(settings, {"CFLAGS": "-O2 -march=native", "CUDAARCHS": "70", "PATH": "/bin"})
    assert env == {
        "CFLAGS": "-O2 -march=native -march=x86-64-v3",
        "CUDAARCHS": "90-real",
        "PATH": "/bin",
    }


def _macros(cflags: str) -> set[str]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    out = subprocess.run(
        [cc, *cflags.split(), "-dM", "-E", "-x", "c", "/dev/null"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {line.split()[1] for line in out.splitlines() if line.startswith("#define")}


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_a_real_compiler_accepts_the_flags_and_defines_the_isa_macros() -> None:
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("x86-64 compiler needed")
    v1 = _macros(settings_for([P("x86_64 :: level :: v1")]).env["CFLAGS"])
    v3 = _macros(settings_for([P("x86_64 :: level :: v3")]).env["CFLAGS"])
    v4 = _macros(settings_for([P("x86_64 :: level :: v4")]).env["CFLAGS"])
    assert "__AVX2__" not in v1 and "__SSE2__" in v1
    assert "__AVX2__" in v3 and "__FMA__" in v3 and "__AVX512F__" not in v3
    assert "__AVX512F__" in v4 and "__AVX512VL__" in v4
    features = settings_for(
        [P(f"x86_64 :: {f} :: on") for f in ("avx2", "sse4_1", "lahf_lm", "bmi1")]
    )
    assert {"__AVX2__", "__SSE4_1__", "__BMI__"} <= _macros(features.env["CFLAGS"])


NVIDIA_PROPS = [P("nvidia :: sm_arch :: 90_real"), P("nvidia :: sm_arch :: 80_virtual")]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no CUDA toolkit (nvcc)")
def test_nvcc_embeds_sass_for_real_and_ptx_for_virtual_architectures(tmp_path) -> None:
    import os

    settings = settings_for(NVIDIA_PROPS)
    (tmp_path / "k.cu").write_text("__global__ void k(float *x) { x[threadIdx.x] *= 2.0f; }\n")
    proc = subprocess.run(
        ["nvcc", "--dryrun", "-c", "k.cu", "-o", "k.o"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=apply_env(settings, os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    fatbin = next(line for line in proc.stderr.splitlines() if "fatbinary" in line)
    images = sorted(set(re.findall(r"image3=kind=(\w+),sm=(\d+)", fatbin)))
    assert images == [("elf", "90"), ("ptx", "80")]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("nvcc") is None or shutil.which("cmake") is None, reason="no nvcc or cmake"
)
def test_cmake_takes_the_cuda_architectures_from_the_environment(tmp_path) -> None:
    import os

    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(t LANGUAGES CUDA)\n"
        'message(STATUS "ARCHS=${CMAKE_CUDA_ARCHITECTURES}")\n'
    )
    env = apply_env(settings_for(NVIDIA_PROPS), os.environ)
    env.setdefault("CUDACXX", shutil.which("nvcc") or "nvcc")
    proc = subprocess.run(
        ["cmake", "-S", ".", "-B", "build"], cwd=tmp_path, capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-- ARCHS=80-virtual;90-real" in proc.stdout
