"""Native nvidia provider against nvidia-variant-provider 0.0.2: its test suite's assertions, the
recorded answers in reference-plugin-outputs/plugins.json, and the NVML path through ctypes."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.cbuild import build_shared_library
from helpers.plugin_outputs import plugin_reference
from varwheel.errors import ProviderError
from varwheel.providers.base import feature_configs_to_json, validate_supported
from varwheel.providers.native._nvml import CudaEnvironment, decode_cuda_version, query_nvml
from varwheel.providers.native.nvidia import (
    FORCE_CUDA_VAR,
    FORCE_SM_VAR,
    NvidiaProvider,
    all_sm_values,
    all_umd_values,
    lower_bound_values,
    parse_forced_cuda,
    sm_values,
    upper_bound_values,
)


@pytest.fixture(scope="module")
def reference(fixtures_dir: Path) -> dict:
    return plugin_reference(fixtures_dir, "nvidia")


def _by_name(provider: NvidiaProvider) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {c.name: (c.values, c.multi_value) for c in provider.get_supported_configs()}


def _no_nvml() -> CudaEnvironment | None:
    return query_nvml(("libnvidia-ml-absent-for-test.so.1",))


def test_all_configs_equal_published_plugin(reference: dict) -> None:
    assert feature_configs_to_json(NvidiaProvider().get_all_configs()) == reference["all"]
    assert NvidiaProvider().is_static is False


def test_every_recorded_force_case_is_reproduced_exactly(reference: dict) -> None:
    assert len(reference["cases"]) >= 8
    for case in reference["cases"]:
        provider = NvidiaProvider(environ=case["env"], detect=_no_nvml)
        got = feature_configs_to_json(provider.get_supported_configs())
        assert got == case["supported"], case["env"]
        validate_supported("nvidia", provider.get_all_configs(), provider.get_supported_configs())


def test_value_generators_as_the_plugin_tests_assert() -> None:
    umd = all_umd_values()
    assert (len(umd), umd[0], umd[-1]) == (110, "15.20", "11")
    sm = all_sm_values()
    assert (len(sm), sm[0], sm[80], sm[-1]) == (160, "129_real", "129_virtual", "50_virtual")
    assert "120_real" in sm


def test_supported_with_overrides_as_the_plugin_tests_assert() -> None:
    env = {FORCE_CUDA_VAR: "12.7", FORCE_SM_VAR: "12.5"}
    got = _by_name(NvidiaProvider(environ=env, detect=_no_nvml))
    lower, _ = got["cuda_version_lower_bound"]
    assert (lower[0], lower[-1]) == ("12.7", "11") and "11.20" in lower
    upper, _ = got["cuda_version_upper_bound"]
    assert (upper[0], upper[-1]) == ("15.20", "12.8") and "12.7" not in upper
    sm, multi = got["sm_arch"]
    assert multi is True and (sm[0], sm[-1]) == ("125_real", "120_virtual")


def test_both_overrides_never_touch_nvml() -> None:
    def forbidden() -> CudaEnvironment | None:
        raise AssertionError("NVML queried although both values are forced")

    env = {FORCE_CUDA_VAR: "13.0", FORCE_SM_VAR: "9.0"}
    assert _by_name(NvidiaProvider(environ=env, detect=forbidden))["sm_arch"][0] == (
        "90_real",
        "90_virtual",
    )


def test_detected_environment_uses_highest_sm_only() -> None:
    env = CudaEnvironment((12, 8), frozenset({(8, 6), (9, 0), (7, 5)}))
    got = _by_name(NvidiaProvider(environ={}, detect=lambda: env))
    assert got["sm_arch"] == (("90_real", "90_virtual"), True)
    assert got["cuda_version_lower_bound"][0][:2] == ("12.8", "12.7")


def test_detected_version_outside_known_window_disables_provider() -> None:
    for version in ((16, 0), (10, 2), (15, 21)):
        env = CudaEnvironment(version, frozenset({(9, 0)}))
        assert NvidiaProvider(environ={}, detect=lambda env=env: env).get_supported_configs() == ()


def test_detected_version_without_gpus_gives_bounds_only() -> None:
    env = CudaEnvironment((13, 0), frozenset())
    assert set(_by_name(NvidiaProvider(environ={}, detect=lambda: env))) == {
        "cuda_version_lower_bound",
        "cuda_version_upper_bound",
    }


def test_forced_values_outside_the_declared_ranges_stay_a_subset() -> None:
    # The plugin would emit 16.x / 130_real here, which no get_all_configs() value matches.
    got = _by_name(NvidiaProvider(environ={FORCE_CUDA_VAR: "16.0", FORCE_SM_VAR: "13.0"}))
    assert got["cuda_version_lower_bound"][0] == all_umd_values()
    assert "cuda_version_upper_bound" not in got and "sm_arch" not in got
    old = _by_name(NvidiaProvider(environ={FORCE_CUDA_VAR: "10.2", FORCE_SM_VAR: "3.5"}))
    assert list(old) == ["cuda_version_upper_bound"]
    assert old["cuda_version_upper_bound"][0] == all_umd_values()


@pytest.mark.parametrize(
    ("env", "var"),
    [
        ({FORCE_CUDA_VAR: "twelve"}, FORCE_CUDA_VAR),
        ({FORCE_CUDA_VAR: "12.8", FORCE_SM_VAR: "9"}, FORCE_SM_VAR),
    ],
)
def test_malformed_override_is_a_provider_error_naming_the_variable(env: dict, var: str) -> None:
    with pytest.raises(ProviderError, match=var):
        NvidiaProvider(environ=env, detect=_no_nvml).get_supported_configs()


def test_empty_override_means_unset() -> None:
    assert (
        NvidiaProvider(environ={FORCE_CUDA_VAR: ""}, detect=_no_nvml).get_supported_configs() == ()
    )


def test_decode_cuda_version() -> None:
    assert decode_cuda_version(12080) == (12, 8)
    assert decode_cuda_version(13000) == (13, 0)
    assert decode_cuda_version(11040) == (11, 4)


def test_missing_nvml_is_silent_and_fast(capfd: pytest.CaptureFixture[str]) -> None:
    assert _no_nvml() is None
    assert NvidiaProvider(environ={}, detect=_no_nvml).get_supported_configs() == ()
    assert capfd.readouterr() == ("", "")


@pytest.mark.skipif(any(Path("/dev").glob("nvidia*")), reason="this machine has an NVIDIA driver")
def test_live_path_on_this_gpu_less_machine(capfd: pytest.CaptureFixture[str]) -> None:
    assert NvidiaProvider(environ={}).get_supported_configs() == ()
    assert capfd.readouterr() == ("", "")


def test_fingerprint_is_stable_and_independent_of_overrides() -> None:
    first = NvidiaProvider().fingerprint()
    assert first == NvidiaProvider(environ={FORCE_CUDA_VAR: "12.8"}).fingerprint()
    assert len(first) == 64


# A real shared library exporting the NVML entry points the provider calls, with answers taken
# from FAKE_NVML_* variables: it exercises the ctypes signatures, decoding and call sequence.
FAKE_NVML_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int inits, shutdowns;
static int env_int(const char *name, int dflt) {
    const char *v = getenv(name); return v ? atoi(v) : dflt;
}
int nvmlInit_v2(void) { int rc = env_int("FAKE_NVML_INIT_RC", 0); if (!rc) inits++; return rc; }
int nvmlShutdown(void) { shutdowns++; return 0; }
int nvmlSystemGetCudaDriverVersion_v2(int *v) {
    int rc = env_int("FAKE_NVML_V2_RC", 0); if (rc) return rc;
    *v = env_int("FAKE_NVML_CUDA", 12080); return 0;
}
int nvmlSystemGetCudaDriverVersion(int *v) { *v = env_int("FAKE_NVML_CUDA_V1", 11040); return 0; }
int nvmlDeviceGetCount_v2(unsigned int *n) {
    *n = (unsigned int)env_int("FAKE_NVML_COUNT", 0); return env_int("FAKE_NVML_COUNT_RC", 0);
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **h) { *h = (void *)(size_t)(i + 1); return 0; }
int nvmlDeviceGetCudaComputeCapability(void *h, int *major, int *minor) {
    const char *sms = getenv("FAKE_NVML_SMS"); char buf[256]; size_t want = (size_t)h - 1, i = 0;
    if (!sms) return 999;
    strncpy(buf, sms, sizeof buf - 1); buf[sizeof buf - 1] = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","), i++) {
        if (i == want) return sscanf(tok, "%d.%d", major, minor) == 2 ? 0 : 3;
    }
    return 999;
}
int fake_counts(int *i, int *s) { *i = inits; *s = shutdowns; return 0; }
"""


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shared_library(tmp_path_factory.mktemp("nvml"), FAKE_NVML_C, "libnvidia-ml.so.1")


def _counts(library: Path) -> tuple[int, int]:
    inits, shutdowns = ctypes.c_int(), ctypes.c_int()
    ctypes.CDLL(str(library)).fake_counts(ctypes.byref(inits), ctypes.byref(shutdowns))
    return inits.value, shutdowns.value


def test_nvml_query_through_a_real_shared_library(
    fake_nvml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NVML_CUDA", "12090")
    monkeypatch.setenv("FAKE_NVML_COUNT", "3")
    monkeypatch.setenv("FAKE_NVML_SMS", "8.6,x,12.0")  # the second GPU's query fails: skipped
    before = _counts(fake_nvml)
    env = query_nvml((str(fake_nvml),))
    assert env == CudaEnvironment((12, 9), frozenset({(8, 6), (12, 0)}))
    inits, shutdowns = _counts(fake_nvml)
    assert (inits - before[0], shutdowns - before[1]) == (1, 1)

    provider = NvidiaProvider(environ={}, detect=lambda: query_nvml((str(fake_nvml),)))
    got = _by_name(provider)
    assert got["sm_arch"][0] == ("120_real", "120_virtual")
    assert got["cuda_version_lower_bound"][0][0] == "12.9"


def test_nvml_v1_fallback_and_failures_always_shut_down(
    fake_nvml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NVML_V2_RC", "13")  # v2 not supported: the v1 call answers
    monkeypatch.setenv("FAKE_NVML_CUDA_V1", "11040")
    monkeypatch.setenv("FAKE_NVML_COUNT", "0")
    assert query_nvml((str(fake_nvml),)) == CudaEnvironment((11, 4), frozenset())

    monkeypatch.setenv("FAKE_NVML_COUNT_RC", "999")  # device count fails: nothing at all
    before = _counts(fake_nvml)
    assert query_nvml((str(fake_nvml),)) is None
    assert _counts(fake_nvml)[1] == before[1] + 1

    monkeypatch.setenv("FAKE_NVML_INIT_RC", "9")  # init fails: no shutdown owed
    before = _counts(fake_nvml)
    assert query_nvml((str(fake_nvml),)) is None
    assert _counts(fake_nvml) == before


_in_window = st.tuples(st.integers(11, 15), st.integers(0, 20))


@settings(max_examples=60, deadline=None)
@given(_in_window)
def test_lower_and_upper_bounds_partition_all_values(cuda: tuple[int, int]) -> None:
    lower, upper = lower_bound_values(cuda), upper_bound_values(cuda)
    assert set(lower).isdisjoint(upper)
    assert sorted(lower + upper) == sorted(all_umd_values())
    assert lower[0] == f"{cuda[0]}.{cuda[1]}"


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(5, 12), st.integers(0, 9)))
def test_sm_values_are_declared(sm: tuple[int, int]) -> None:
    values = sm_values(sm)
    assert values[0] == f"{sm[0]}{sm[1]}_real" and values[-1] == f"{sm[0]}0_virtual"
    assert set(values) <= set(all_sm_values())


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=12))
def test_forced_cuda_parser_returns_a_version_or_a_provider_error(text: str) -> None:
    try:
        major, minor = parse_forced_cuda(text)
    except ProviderError as exc:
        assert FORCE_CUDA_VAR in str(exc)
    else:
        assert major >= 0 and minor >= 0
