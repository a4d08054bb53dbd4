"""Native x86_64 provider against provider-variant-x86-64: its tests' archspec targets, the level
cap, and the live answer on this machine checked against /proc/cpuinfo."""

from __future__ import annotations

import platform
from pathlib import Path
from types import SimpleNamespace

import archspec.cpu
import pytest

from varwheel.providers.base import FeatureConfig, validate_supported
from varwheel.providers.native._cpu import host_from_cpuinfo
from varwheel.providers.native.x86_64 import ALL_FEATURES, X8664Provider

# x86-64 psABI micro-architecture levels, as /proc/cpuinfo spells the flags.
PSABI_LEVELS = {
    2: {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3", "pni"},
    3: {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    4: {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def _pairs(provider: X8664Provider) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.name, c.values) for c in provider.get_supported_configs()]


def _target(name: str) -> X8664Provider:
    return X8664Provider(host=lambda: archspec.cpu.TARGETS[name])


def _on(*names: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(n, ("on",)) for n in names]


def test_all_configs() -> None:
    configs = X8664Provider().get_all_configs()
    assert configs[0] == FeatureConfig("level", ("v4", "v3", "v2", "v1"))
    assert [c.name for c in configs[1:]] == list(ALL_FEATURES)
    assert len(ALL_FEATURES) == 56 and all(c.values == ("on",) for c in configs[1:])
    assert not any(c.multi_value for c in configs)


def test_generic_v2_target_as_the_plugin_tests_assert() -> None:
    assert _pairs(_target("x86_64_v2")) == [
        ("level", ("v2", "v1")),
        *_on(
            "sse4_2", "sse4_1", "ssse3", "sse3", "cx16", "lahf_lm", "popcnt", "sse2", "sse", "mmx"
        ),
    ]


def test_sandybridge_target() -> None:
    # The plugin's test (older vendored archspec) lacks cx16 and lahf_lm: archspec 0.2.7 lists
    # them for sandybridge since it derives from x86_64_v2. Order and the rest are identical.
    assert _pairs(_target("sandybridge")) == [
        ("level", ("v2", "v1")),
        *_on("avx", "aes", "pclmulqdq", "sse4_2", "sse4_1", "ssse3", "sse3", "cx16", "lahf_lm"),
        *_on("popcnt", "sse2", "sse", "mmx"),
    ]


def test_bulldozer_target() -> None:
    # As the plugin's test, plus xsave, lahf_lm and popcnt from archspec 0.2.7's database.
    assert _pairs(_target("bulldozer")) == [
        ("level", ("v2", "v1")),
        *_on("avx", "abm", "xsave", "aes", "pclmulqdq", "sse4a", "sse4_2", "sse4_1", "ssse3"),
        *_on("sse3", "cx16", "lahf_lm", "popcnt", "sse2", "sse", "mmx"),
    ]


def test_non_x86_target_gives_nothing() -> None:
    assert _pairs(_target("cortex_a72")) == []


class FakeTarget:
    """A future archspec target: generic level beyond v4, no known features."""

    def __init__(self, generic: str) -> None:
        self.generic = SimpleNamespace(name=generic)

    def __contains__(self, feature: str) -> bool:
        return False


def test_level_cap() -> None:
    assert _pairs(X8664Provider(host=lambda: FakeTarget("x86_64_v6"))) == [
        ("level", ("v4", "v3", "v2", "v1"))
    ]


def test_plain_x86_64_generic_reports_nothing_like_the_plugin() -> None:
    assert _pairs(_target("x86_64")) == []


def test_host_from_cpuinfo_matches_archspec_for_this_machine() -> None:
    if platform.machine() != "x86_64":
        pytest.skip("x86_64 only")
    text = Path("/proc/cpuinfo").read_text()
    assert host_from_cpuinfo(text, "x86_64") == archspec.cpu.host()


def test_live_level_matches_proc_cpuinfo_flags(capfd: pytest.CaptureFixture[str]) -> None:
    if platform.machine() != "x86_64":
        pytest.skip("x86_64 only")
    first = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    flags = set(
        next(ln for ln in first.splitlines() if ln.startswith("flags")).split(":")[1].split()
    )
    level = 1
    for candidate in (2, 3, 4):
        if PSABI_LEVELS[candidate] <= flags:
            level = candidate
        else:
            break
    provider = X8664Provider()
    supported = provider.get_supported_configs()
    assert supported[0] == FeatureConfig("level", tuple(f"v{n}" for n in range(level, 0, -1)))
    reported = {c.name for c in supported[1:]}
    assert reported <= flags | {"sse3"}  # /proc/cpuinfo calls SSE3 "pni"
    needed = set().union(*(PSABI_LEVELS[n] for n in range(2, level + 1))) & set(ALL_FEATURES)
    assert needed <= reported
    validate_supported("x86_64", provider.get_all_configs(), supported)
    assert capfd.readouterr() == ("", "")


def test_fingerprint_is_stable() -> None:
    assert X8664Provider().fingerprint() == X8664Provider().fingerprint()
