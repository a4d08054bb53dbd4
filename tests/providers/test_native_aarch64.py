"""Native aarch64 provider against provider-variant-aarch64 0.0.3: its tests' archspec targets,
the version cap, real /proc/cpuinfo texts of ARM servers, and the empty live path elsewhere."""

from __future__ import annotations

import platform
from types import SimpleNamespace

import archspec.cpu
import pytest

from varwheel.providers.base import FeatureConfig, validate_supported
from varwheel.providers.native._cpu import host_from_cpuinfo
from varwheel.providers.native.aarch64 import ALL_FEATURES, AArch64Provider

# First processor block of /proc/cpuinfo on AWS Graviton2, Graviton3 and NVIDIA Grace.
GRAVITON2 = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
"""
GRAVITON3 = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd40
CPU revision\t: 1
"""
GRACE = """processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svebf16 i8mm bf16 dgh bti
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd4f
CPU revision\t: 0
"""


def _pairs(provider: AArch64Provider) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.name, c.values) for c in provider.get_supported_configs()]


def _target(name: str) -> AArch64Provider:
    return AArch64Provider(host=lambda: archspec.cpu.TARGETS[name])


def _on(*names: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(n, ("on",)) for n in names]


def test_all_configs() -> None:
    configs = AArch64Provider().get_all_configs()
    assert configs[0] == FeatureConfig(
        "version", ("9.0a", "8.5a", "8.4a", "8.3a", "8.2a", "8.1a", "8a")
    )
    assert [c.name for c in configs[1:]] == list(ALL_FEATURES) and len(ALL_FEATURES) == 40
    assert not any(c.multi_value for c in configs)  # "Mark features as non-multi-value"


def test_all_versions_equal_archspec_chain_of_armv9() -> None:
    chain = [archspec.cpu.TARGETS["armv9.0a"], *archspec.cpu.TARGETS["armv9.0a"].ancestors]
    names = [t.name for t in chain]
    assert [n.removeprefix("armv") if n != "aarch64" else "8a" for n in names] == list(
        AArch64Provider().get_all_configs()[0].values
    )


def test_cortex_a72_as_the_plugin_tests_assert() -> None:
    assert _pairs(_target("cortex_a72")) == [
        ("version", ("8a",)),
        *_on("aes", "asimd", "cpuid", "crc32", "evtstrm", "fp", "pmull", "sha1", "sha2"),
    ]


def test_a64fx_as_the_plugin_tests_assert() -> None:
    assert _pairs(_target("a64fx")) == [
        ("version", ("8.2a", "8.1a", "8a")),
        *_on("asimdhp", "dcpop", "fcma", "fphp", "sve", "asimd", "cpuid", "crc32", "evtstrm"),
        *_on("fp", "sha1", "sha2"),
    ]


def test_generic_targets_as_the_plugin_tests_assert() -> None:
    assert _pairs(_target("armv8.4a")) == [("version", ("8.4a", "8.3a", "8.2a", "8.1a", "8a"))]
    assert _pairs(_target("aarch64")) == [("version", ("8a",))]
    assert _pairs(_target("nehalem")) == []


def test_version_cap_as_the_plugin_tests_assert() -> None:
    compatible = ["9.0a", "8.5a", "8.4a", "8.3a", "8.2a", "8.1a", "8a"]
    ancestors = {"armv9.1a", *(f"armv{v}" if v != "8a" else "aarch64" for v in compatible)}
    host = FutureCore(
        ancestors, SimpleNamespace(name="armv9.1a", ancestors=sorted(ancestors - {"armv9.1a"}))
    )
    assert _pairs(AArch64Provider(host=lambda: host)) == [("version", tuple(compatible))]


class FutureCore:
    """A core newer than the plugin knows: only names, no known features."""

    def __init__(self, ancestors: set[str], generic: SimpleNamespace) -> None:
        self.ancestors = sorted(ancestors)
        self.generic = generic

    def __contains__(self, feature: str) -> bool:
        return False


@pytest.mark.parametrize(
    ("cpuinfo", "target", "versions"),
    [
        (GRAVITON2, "neoverse_n1", ("8.2a", "8.1a", "8a")),
        (GRAVITON3, "neoverse_v1", ("8.4a", "8.3a", "8.2a", "8.1a", "8a")),
        (GRACE, "neoverse_v2", ("9.0a", "8.5a", "8.4a", "8.3a", "8.2a", "8.1a", "8a")),
    ],
)
def test_real_server_cpuinfo(cpuinfo: str, target: str, versions: tuple[str, ...]) -> None:
    host = host_from_cpuinfo(cpuinfo, "aarch64")
    assert host.name == target
    provider = AArch64Provider(host=lambda: host)
    supported = provider.get_supported_configs()
    assert supported[0] == FeatureConfig("version", versions)
    features = [c.name for c in supported[1:]]
    assert features == [f for f in ALL_FEATURES if f in archspec.cpu.TARGETS[target].features]
    assert "sve" in features or target == "neoverse_n1"
    validate_supported("aarch64", provider.get_all_configs(), supported)


def test_graviton2_features_in_preference_order() -> None:
    host = host_from_cpuinfo(GRAVITON2, "arm64")
    assert _pairs(AArch64Provider(host=lambda: host))[1:] == _on(
        "asimddp", "lrcpc", "asimdhp", "dcpop", "fphp", "aes", "asimd", "cpuid", "crc32",
        "evtstrm", "fp", "pmull", "sha1", "sha2",
    )  # fmt: skip


def test_unknown_arm_core_falls_back_to_its_generic_version() -> None:
    cpuinfo = GRAVITON2.replace("0xd0c", "0xfff").replace("0x41", "0x99")
    host = host_from_cpuinfo(cpuinfo, "aarch64")
    assert _pairs(AArch64Provider(host=lambda: host))[0] == ("version", ("8a",))


def test_live_path_is_empty_off_aarch64(capfd: pytest.CaptureFixture[str]) -> None:
    if platform.machine().lower() in ("aarch64", "arm64"):
        pytest.skip("this machine is AArch64")
    assert AArch64Provider().get_supported_configs() == ()
    assert host_from_cpuinfo(GRAVITON2, "x86_64").name != "neoverse_n1"
    assert capfd.readouterr() == ("", "")
