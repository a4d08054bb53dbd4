"""Native amd provider against amd-variant-provider 0.0.2: recorded answers under its FORCE
variables, and live detection from a KFD topology and ROCm version file laid out on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.plugin_outputs import plugin_reference
from varwheel.errors import ProviderError
from varwheel.providers.base import FeatureConfig, feature_configs_to_json, validate_supported
from varwheel.providers.native.amd import (
    FORCE_GFX_VAR,
    FORCE_ROCM_VAR,
    PREFERRED_GFX_VAR,
    AMDProvider,
    gfx_name,
    parse_rocm_version_file,
    split_list,
)


@pytest.fixture(scope="module")
def reference(fixtures_dir: Path) -> dict:
    return plugin_reference(fixtures_dir, "amd")


def _machine(root: Path, targets: list[int], rocm: str | None) -> AMDProvider:
    """A KFD topology (one node per target; 0 is a CPU node) and /opt/rocm under ``root``."""
    for index, target in enumerate(targets):
        node = root / "sys/class/kfd/kfd/topology/nodes" / str(index)
        node.mkdir(parents=True)
        (node / "properties").write_text(
            f"cpu_cores_count {0 if target else 16}\nsimd_count 0\n"
            f"gfx_target_version {target}\nvendor_id 4098\n"
        )
    if rocm is not None:
        (root / "opt/rocm/.info").mkdir(parents=True)
        (root / "opt/rocm/.info/version").write_text(rocm)
    return AMDProvider(environ={}, sysfs=root / "sys", rocm_roots=(root / "opt/rocm",))


def test_all_configs_equal_published_plugin(reference: dict) -> None:
    assert feature_configs_to_json(AMDProvider().get_all_configs()) == reference["all"]


def test_every_recorded_force_case_is_reproduced_exactly(reference: dict, tmp_path: Path) -> None:
    assert len(reference["cases"]) >= 4
    for case in reference["cases"]:
        provider = AMDProvider(environ=case["env"], sysfs=tmp_path, rocm_roots=(tmp_path,))
        got = feature_configs_to_json(provider.get_supported_configs())
        assert got == case["supported"], case["env"]
        validate_supported("amd", provider.get_all_configs(), provider.get_supported_configs())


@pytest.mark.parametrize(
    ("target", "name"),
    [(90010, "gfx90a"), (90402, "gfx942"), (100300, "gfx1030"), (110000, "gfx1100"),
     (120001, "gfx1201"), (90000, "gfx900"), (90500, "gfx950"), (0, None)],
)  # fmt: skip
def test_gfx_name_from_kfd_target_version(target: int, name: str | None) -> None:
    assert gfx_name(target) == name


def test_live_detection_from_kfd_topology(tmp_path: Path) -> None:
    provider = _machine(tmp_path, [0, 110000, 90010, 90010], "6.4.1-120")
    assert provider.get_supported_configs() == (
        FeatureConfig("gfx_arch", ("gfx1100", "gfx90a"), multi_value=True),  # sorted, unique
        FeatureConfig("rocm_version", ("6.4",)),
    )


def test_unknown_gfx_drops_all_gfx_as_the_plugin_does(tmp_path: Path) -> None:
    provider = _machine(tmp_path, [0, 90402, 90500], "7.0.0")  # gfx950 is not in 0.0.2's list
    assert provider.get_supported_configs() == (FeatureConfig("rocm_version", ("7.0",)),)


def test_preferred_gfx_list_replaces_the_known_list(tmp_path: Path) -> None:
    provider = _machine(tmp_path, [90402], None)
    preferred = AMDProvider(
        environ={PREFERRED_GFX_VAR: "gfx1100, gfx1101"}, sysfs=provider.sysfs, rocm_roots=()
    )
    assert preferred.get_supported_configs() == ()


def test_rocm_version_outside_declared_values_is_filtered(tmp_path: Path) -> None:
    provider = _machine(tmp_path, [90402], "5.7.1")
    assert provider.get_supported_configs() == (
        FeatureConfig("gfx_arch", ("gfx942",), multi_value=True),
    )


def test_forced_values_win_over_detection(tmp_path: Path) -> None:
    live = _machine(tmp_path, [90402], "6.3.0")
    provider = AMDProvider(
        environ={FORCE_GFX_VAR: "gfx1201;gfx1200 gfx1201", FORCE_ROCM_VAR: "7.1.0"},
        sysfs=live.sysfs,
        rocm_roots=live.rocm_roots,
    )
    assert feature_configs_to_json(provider.get_supported_configs()) == [
        {"name": "gfx_arch", "values": ["gfx1201", "gfx1200"], "multi_value": True},
        {"name": "rocm_version", "values": ["7.1"], "multi_value": False},
    ]


def test_rocm_path_variable_selects_the_version_file(tmp_path: Path) -> None:
    (tmp_path / "rocm/.info").mkdir(parents=True)
    (tmp_path / "rocm/.info/version").write_text("6.3.2\n")
    provider = AMDProvider(environ={"ROCM_PATH": str(tmp_path / "rocm")}, sysfs=tmp_path)
    assert provider.get_supported_configs() == (FeatureConfig("rocm_version", ("6.3",)),)


@pytest.mark.parametrize("value", ["6.4", "6.4.0.1", "6..0"])
def test_forced_rocm_version_needs_three_components(value: str) -> None:
    with pytest.raises(ProviderError, match=FORCE_ROCM_VAR):
        AMDProvider(environ={FORCE_ROCM_VAR: value}).get_supported_configs()


def test_helpers() -> None:
    assert split_list(" gfx90a,gfx1100 ;gfx942  ") == ["gfx90a", "gfx1100", "gfx942"]
    assert parse_rocm_version_file("6.4.1-120") == (6, 4)
    assert parse_rocm_version_file("7.0") == (7, 0)
    assert parse_rocm_version_file("garbage") is None


def test_no_hardware_is_silent(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert (
        AMDProvider(environ={}, sysfs=tmp_path, rocm_roots=(tmp_path,)).get_supported_configs()
        == ()
    )
    if not Path("/sys/class/kfd").exists() and not Path("/opt/rocm").exists():
        assert AMDProvider(environ={}).get_supported_configs() == ()
    assert capfd.readouterr() == ("", "")


def test_fingerprint_follows_the_topology(tmp_path: Path) -> None:
    provider = _machine(tmp_path, [0, 90402], "6.4.0")
    first = provider.fingerprint()
    assert first == provider.fingerprint()
    (tmp_path / "opt/rocm/.info/version").write_text("7.0.0")
    assert provider.fingerprint() != first


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20))
def test_version_file_and_list_parsers_never_crash(text: str) -> None:
    version = parse_rocm_version_file(text)
    assert version is None or all(part >= 0 for part in version)
    assert all(part and not any(ch in part for ch in ", ;\t\n") for part in split_list(text))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 99), st.integers(0, 15), st.integers(0, 15))
def test_gfx_name_encodes_minor_and_stepping_as_hex_digits(
    major: int, minor: int, step: int
) -> None:
    assert gfx_name(major * 10000 + minor * 100 + step) == f"gfx{major}{minor:x}{step:x}"
