"""Native ascend provider against huawei-ascend-variant-provider 0.0.2: npu-smi and toolkit
parsing, FORCE variables, and a real ``npu-smi`` executable on PATH."""

from __future__ import annotations

import os
import platform
import stat
from pathlib import Path

import pytest

from varwheel.errors import ProviderError
from varwheel.providers.base import FeatureConfig, validate_supported
from varwheel.providers.native.ascend import (
    FORCE_CANN_VAR,
    FORCE_DRIVER_VAR,
    FORCE_NPU_VAR,
    AscendEnvironment,
    AscendProvider,
    normalize_npu_type,
    parse_cann_info,
    parse_npu_smi,
)

NPU_SMI_INFO = """\
+------------------------------------------------------------------------------------------------+
| npu-smi 24.1.rc2                 Version: 24.1.rc2                                             |
+---------------------------+---------------+----------------------------------------------------+
| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
+===========================+===============+====================================================+
| 0     910B3               | OK            | 93.6        40                0    / 0             |
| 0                         | 0000:C1:00.0  | 0           0    / 0          3161 / 65536         |
+===========================+===============+====================================================+
| 1     910B3               | OK            | 90.1        38                0    / 0             |
| 0                         | 0000:C2:00.0  | 0           0    / 0          3162 / 65536         |
+===========================+===============+====================================================+
"""


def _none(env: object) -> AscendEnvironment:
    return AscendEnvironment()


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("910", "a3"), ("Ascend910", "a3"), ("910B3", "910b"), ("910b", "910b"), ("310P3", "310p"),
     ("310B1", "310b1")],
)  # fmt: skip
def test_npu_type_normalisation(raw: str, normal: str) -> None:
    assert normalize_npu_type(raw) == normal


def test_parse_npu_smi_info() -> None:
    assert parse_npu_smi(NPU_SMI_INFO) == AscendEnvironment(("910b", "910b"), "24.1.rc2", None)


def test_parse_cann_install_info() -> None:
    assert parse_cann_info("package_name=Ascend-cann-toolkit\nversion=8.0.RC2\n") == "8.0.rc2"
    assert parse_cann_info("version=7.0.0\n") == "7.0.0"
    assert parse_cann_info("nothing here") is None


def test_forced_values() -> None:
    env = {FORCE_NPU_VAR: "910b", FORCE_DRIVER_VAR: "24.1.rc2", FORCE_CANN_VAR: "8.0.rc2"}
    provider = AscendProvider(environ=env, detect=_none)
    assert provider.get_supported_configs() == (
        FeatureConfig("npu_type", ("910b",)),
        FeatureConfig("driver_version", ("24.1.rc2",)),
        FeatureConfig("cann_version", ("8.0.rc2",)),
    )
    validate_supported("ascend", provider.get_all_configs(), provider.get_supported_configs())


def test_forced_npu_only_keeps_detected_versions() -> None:
    found = AscendEnvironment(("310p",), "23.0.3", None)
    provider = AscendProvider(environ={FORCE_NPU_VAR: "a3"}, detect=lambda env: found)
    assert provider.get_supported_configs() == (
        FeatureConfig("npu_type", ("a3",)),
        FeatureConfig("driver_version", ("23.0.3",)),
    )


def test_invalid_forced_value_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match=FORCE_NPU_VAR):
        AscendProvider(environ={FORCE_NPU_VAR: "910B"}, detect=_none).get_supported_configs()


def test_all_configs_are_never_empty_and_cover_supported() -> None:
    bare = AscendProvider(environ={}, detect=_none)
    assert bare.get_all_configs() == (FeatureConfig("npu_type", ("910b", "310p", "a3")),)
    found = AscendEnvironment(("310b1",), "24.1.rc2", "8.0.0")
    provider = AscendProvider(environ={}, detect=lambda env: found)
    validate_supported("ascend", provider.get_all_configs(), provider.get_supported_configs())
    assert provider.get_all_configs()[0].values[-1] == "310b1"


def test_live_detection_runs_npu_smi_and_reads_the_toolkit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "info.txt").write_text(NPU_SMI_INFO)
    script = bin_dir / "npu-smi"
    script.write_text(
        f"#!/bin/sh\n[ \"$1\" = info ] && exec cat '{tmp_path / 'info.txt'}'\nexit 2\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    toolkit = tmp_path / "toolkit"
    (toolkit / f"{platform.machine()}-linux").mkdir(parents=True)
    (toolkit / f"{platform.machine()}-linux" / "ascend_toolkit_install.info").write_text(
        "version=8.0.RC3\n"
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    provider = AscendProvider(environ={"ASCEND_TOOLKIT_HOME": str(toolkit)})
    assert provider.get_supported_configs() == (
        FeatureConfig("npu_type", ("910b",)),
        FeatureConfig("driver_version", ("24.1.rc2",)),
        FeatureConfig("cann_version", ("8.0.rc3",)),
    )


def test_no_hardware_is_silent(capfd: pytest.CaptureFixture[str]) -> None:
    assert AscendProvider(environ={}, detect=_none).get_supported_configs() == ()
    if not any(Path("/dev").glob("davinci*")):
        assert AscendProvider(environ={}).get_supported_configs() == ()
    assert capfd.readouterr() == ("", "")
