"""Native intel provider against intel-variant-provider 0.0.3: its test suite's IP table checks,
the recorded answers under its FORCE variable, and Level Zero through ctypes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.cbuild import build_shared_library
from helpers.plugin_outputs import plugin_reference
from varwheel.providers.base import FeatureConfig, feature_configs_to_json, validate_supported
from varwheel.providers.native._levelzero import decode_ip, query_device_ips
from varwheel.providers.native.intel import DEVICE_IPS, FORCE_IP_VAR, IntelProvider, with_compat

VALUE = re.compile(r"^[a-z0-9_.]+$")


@pytest.fixture(scope="module")
def reference(fixtures_dir: Path) -> dict:
    return plugin_reference(fixtures_dir, "intel")


def to_uint32(ip: str) -> int:
    arch, release, revision = (int(x) for x in ip.split("."))
    return (revision & 0x3F) | (release << 14) | (arch << 22)


def _no_level_zero() -> tuple[str, ...]:
    raw = query_device_ips(("libze_loader-absent-for-test.so.1",))
    return with_compat(decode_ip(v) for v in raw) if raw else ()


def test_all_configs_equal_published_plugin(reference: dict) -> None:
    assert feature_configs_to_json(IntelProvider().get_all_configs()) == reference["all"]


def test_every_recorded_force_case_is_reproduced_exactly(reference: dict) -> None:
    for case in reference["cases"]:
        provider = IntelProvider(environ=case["env"], detect=_no_level_zero)
        assert feature_configs_to_json(provider.get_supported_configs()) == case["supported"]
        validate_supported("intel", provider.get_all_configs(), provider.get_supported_configs())


def test_ip_encoding_vectors_from_the_plugin_tests() -> None:
    assert to_uint32("12.60.7") == 0x030F0007
    assert to_uint32("12.55.8") == 0x030DC008
    assert decode_ip(0x030F0007) == "12.60.7"
    assert decode_ip(0x12341234) == "72.208.52"  # not in the table: no compat, filtered out


def test_ip_table_is_consistent() -> None:
    for ip, base in DEVICE_IPS.items():
        assert VALUE.fullmatch(ip) and decode_ip(to_uint32(ip)) == ip
        if base is not None:
            assert base in DEVICE_IPS and DEVICE_IPS[base] is None
            assert with_compat([ip]) == (ip, base)
        else:
            assert with_compat([ip]) == (ip,)


def test_detected_ips_keep_order_add_compat_and_drop_unknown() -> None:
    detected = with_compat(["20.2.0", "72.208.52", "12.57.0", "20.4.4"])
    provider = IntelProvider(environ={}, detect=lambda: detected)
    assert provider.get_supported_configs() == (
        FeatureConfig("device_ip", ("20.2.0", "20.1.0", "12.57.0", "12.55.8", "20.4.4"), True),
    )


def test_forced_ip_is_not_expanded_and_unknown_forced_ip_gives_nothing() -> None:
    assert IntelProvider(
        environ={FORCE_IP_VAR: "20.2.0"}, detect=_no_level_zero
    ).get_supported_configs() == (FeatureConfig("device_ip", ("20.2.0",), True),)
    assert (
        IntelProvider(
            environ={FORCE_IP_VAR: "12.99.99"}, detect=_no_level_zero
        ).get_supported_configs()
        == ()
    )


def test_missing_level_zero_is_silent_and_fast(capfd: pytest.CaptureFixture[str]) -> None:
    assert query_device_ips(("libze_loader-absent-for-test.so.1",)) is None
    assert IntelProvider(environ={}, detect=_no_level_zero).get_supported_configs() == ()
    if not Path("/dev/dri").exists():
        assert IntelProvider(environ={}).get_supported_configs() == ()
    assert capfd.readouterr() == ("", "")


# A real shared library with the Level Zero entry points the provider calls; FAKE_ZE_IPS lists
# "vendor:ip" per device (hex), so the ctypes structures and the pNext chain are exercised.
FAKE_ZE_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { uint32_t stype; void *pNext; uint32_t ipVersion; } ip_ext_t;
typedef struct {
    uint32_t stype; void *pNext; uint32_t type, vendorId, deviceId, flags, subdeviceId,
    coreClockRate; uint64_t maxMemAllocSize; uint32_t maxHardwareContexts,
    maxCommandQueuePriority, numThreadsPerEU, physicalEUSimdWidth, numEUsPerSubslice,
    numSubslicesPerSlice, numSlices; uint64_t timerResolution; uint32_t timestampValidBits,
    kernelTimestampValidBits; uint8_t uuid[16]; char name[256];
} props_t;
static unsigned vendors[8], ips[8]; static uint32_t ndev;
static void load(void) {
    char buf[256]; const char *spec = getenv("FAKE_ZE_IPS"); ndev = 0;
    if (!spec) return;
    strncpy(buf, spec, sizeof buf - 1); buf[sizeof buf - 1] = 0;
    for (char *t = strtok(buf, ","); t && ndev < 8; t = strtok(NULL, ","))
        if (sscanf(t, "%x:%x", &vendors[ndev], &ips[ndev]) == 2) ndev++;
}
int zeInitDrivers(uint32_t *count, void **drivers, void *desc) {
    (void)desc; load();
    if (drivers && *count >= 1) drivers[0] = (void *)0x1;
    *count = 1; return 0;
}
int zeDeviceGet(void *driver, uint32_t *count, void **devices) {
    (void)driver;
    if (devices) for (uint32_t i = 0; i < *count && i < ndev; i++) devices[i] = (void *)(size_t)(i + 1);
    *count = ndev; return 0;
}
int zeDeviceGetProperties(void *device, props_t *p) {
    size_t i = (size_t)device - 1; if (p->stype != 3) return 0x78000004;
    p->vendorId = vendors[i];
    ip_ext_t *ext = (ip_ext_t *)p->pNext;
    if (ext && ext->stype == 0x1000f) ext->ipVersion = ips[i];
    return 0;
}
"""


@pytest.fixture(scope="module")
def fake_level_zero(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shared_library(tmp_path_factory.mktemp("ze"), FAKE_ZE_C, "libze_loader.so.1")


def test_level_zero_query_through_a_real_shared_library(
    fake_level_zero: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bmg_g31, nvidia_gpu, dg2 = to_uint32("20.2.0"), to_uint32("12.60.7"), to_uint32("12.56.5")
    monkeypatch.setenv("FAKE_ZE_IPS", f"8086:{bmg_g31:x},10de:{nvidia_gpu:x},8086:{dg2:x}")
    assert query_device_ips((str(fake_level_zero),)) == [bmg_g31, dg2]

    def detect() -> tuple[str, ...]:
        raw = query_device_ips((str(fake_level_zero),)) or []
        return with_compat(decode_ip(v) for v in raw)

    assert IntelProvider(environ={}, detect=detect).get_supported_configs() == (
        FeatureConfig("device_ip", ("20.2.0", "20.1.0", "12.56.5", "12.55.8"), True),
    )
