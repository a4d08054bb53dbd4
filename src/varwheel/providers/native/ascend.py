"""Native ``ascend`` provider: answers like huawei-ascend-variant-provider 0.0.2.

Single-valued features ``npu_type`` (the first NPU, normalised: ``910`` -> ``a3``, ``910b*`` ->
``910b``, ``310p*`` -> ``310p``), ``driver_version`` and ``cann_version``, from ``npu-smi info`` and
``$ASCEND_TOOLKIT_HOME/<machine>-linux/ascend_toolkit_install.info``, or forced by the
``ASCEND_VARIANT_PROVIDER_FORCE_*`` variables.

The plugin's ``get_all_configs()`` returns its supported configs, so it depends on the machine
(against PEP 817, and empty without an NPU). Here all-configs is the known NPU types plus whatever
this machine reports, which keeps supported ⊆ all and never leaves ``npu_type`` empty.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from varwheel.errors import ProviderError
from varwheel.providers.base import FeatureConfig
from varwheel.providers.native._common import (
    NativeProvider,
    digest,
    environ,
    file_fact,
    forced,
    glob_fact,
    plugin_api_names,
)
from varwheel.spec.properties import VALUE_RE

FORCE_NPU_VAR = "ASCEND_VARIANT_PROVIDER_FORCE_NPU_TYPE"
FORCE_DRIVER_VAR = "ASCEND_VARIANT_PROVIDER_FORCE_DRIVER_VERSION"
FORCE_CANN_VAR = "ASCEND_VARIANT_PROVIDER_FORCE_CANN_VERSION"
TOOLKIT_VAR = "ASCEND_TOOLKIT_HOME"
KNOWN_NPU_TYPES: tuple[str, ...] = ("910b", "310p", "a3")
NPU_SMI_TIMEOUT = 10.0

_NPU_ROW = re.compile(
    r"^\|\s*(?P<index>\d+)\s+(?P<npu>(?:\d+[A-Za-z]+\d*|[A-Za-z]+\d+[A-Za-z0-9]*))\s+\|", re.M
)
_DRIVER = re.compile(r"Version:\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.rc(\d+))?", re.M)
_CANN = re.compile(r"version=(\d+)\.(\d+)(?:\.(\d+))?(?:\.RC(\d+))?", re.M)


@dataclass(frozen=True)
class AscendEnvironment:
    npu_types: tuple[str, ...] = ()
    driver_version: str | None = None
    cann_version: str | None = None


def normalize_npu_type(raw: str) -> str:
    npu = raw.lower()
    npu = npu.removeprefix("ascend") or npu
    if npu == "910":
        return "a3"
    if npu.startswith("910b"):
        return "910b"
    if npu.startswith("310p"):
        return "310p"
    return npu


def _version(match: re.Match[str] | None, rc_prefix: str) -> str | None:
    if match is None:
        return None
    major, minor, patch, rc = match.groups()
    text = f"{int(major)}.{int(minor)}"
    if patch is not None:
        text += f".{int(patch)}"
    if rc is not None:
        text += f".{rc_prefix}{int(rc)}"
    return text


def parse_npu_smi(output: str) -> AscendEnvironment:
    """NPU types (in index order) and driver version from ``npu-smi info`` output."""
    types = tuple(normalize_npu_type(m.group("npu")) for m in _NPU_ROW.finditer(output))
    return AscendEnvironment(npu_types=types, driver_version=_version(_DRIVER.search(output), "rc"))


def parse_cann_info(text: str) -> str | None:
    """CANN version from ``ascend_toolkit_install.info`` (``version=8.0.RC2`` -> ``8.0.RC2``).

    The plugin writes the RC marker as ``.rc`` in driver versions and ``.RC`` in CANN versions;
    values must be lower case (PEP 825 value grammar), so both become ``.rc`` here.
    """
    return _version(_CANN.search(text), "rc")


def live_environment(env: Mapping[str, str]) -> AscendEnvironment:
    types: tuple[str, ...] = ()
    driver = None
    npu_smi = shutil.which("npu-smi")
    if npu_smi is not None:
        try:
            result = subprocess.run(
                [npu_smi, "info"],
                capture_output=True,
                text=True,
                check=True,
                timeout=NPU_SMI_TIMEOUT,
            )
            parsed = parse_npu_smi(result.stdout)
            types, driver = parsed.npu_types, parsed.driver_version
        except (OSError, subprocess.SubprocessError):
            pass
    cann = None
    toolkit = forced(env, TOOLKIT_VAR)
    if toolkit:
        info = Path(toolkit) / f"{platform.machine()}-linux" / "ascend_toolkit_install.info"
        try:
            cann = parse_cann_info(info.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            cann = None
    return AscendEnvironment(types, driver, cann)


_FORCE_VARS = {
    "npu_type": FORCE_NPU_VAR,
    "driver_version": FORCE_DRIVER_VAR,
    "cann_version": FORCE_CANN_VAR,
}


@dataclass(frozen=True)
class AscendProvider(NativeProvider):
    """``environ`` and ``detect`` replace the live system (profiles, tests)."""

    environ: Mapping[str, str] | None = None
    detect: Callable[[Mapping[str, str]], AscendEnvironment] | None = None

    namespace: ClassVar[str] = "ascend"
    version: ClassVar[str] = "0.0.2"
    override_env_vars: ClassVar[tuple[str, ...]] = (
        FORCE_NPU_VAR,
        FORCE_DRIVER_VAR,
        FORCE_CANN_VAR,
        TOOLKIT_VAR,
    )
    distributions: ClassVar[tuple[str, ...]] = ("huawei-ascend-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = plugin_api_names(
        "huawei_ascend_variant_provider", "AscendVariantPlugin"
    )

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        env = environ(self.environ)
        values = {name: forced(env, var) for name, var in _FORCE_VARS.items()}
        for name, value in values.items():
            if value is not None and not VALUE_RE.fullmatch(value):
                raise ProviderError(
                    f"{_FORCE_VARS[name]}={value!r} is not a valid variant value "
                    f"(must match {VALUE_RE.pattern})"
                )
        if None in values.values():
            found = (self.detect or live_environment)(env)
            detected = {
                "npu_type": next(iter(found.npu_types), None),  # the plugin uses the first NPU
                "driver_version": found.driver_version,
                "cann_version": found.cann_version,
            }
            values = {name: value or detected[name] for name, value in values.items()}
        return tuple(
            FeatureConfig(name, (value,))
            for name, value in values.items()
            if value and VALUE_RE.fullmatch(value)
        )

    def get_all_configs(self) -> tuple[FeatureConfig, ...]:
        supported = {c.name: c.values for c in self.get_supported_configs()}
        npu_types = tuple(dict.fromkeys((*KNOWN_NPU_TYPES, *supported.pop("npu_type", ()))))
        return (
            FeatureConfig("npu_type", npu_types),
            *(FeatureConfig(name, values) for name, values in supported.items()),
        )

    def fingerprint(self) -> str:
        env = environ(self.environ)
        toolkit = env.get(TOOLKIT_VAR, "")
        info = Path(toolkit) / f"{platform.machine()}-linux" / "ascend_toolkit_install.info"
        facts = [
            glob_fact(Path("/dev"), "davinci*"),
            f"npu-smi={shutil.which('npu-smi') or '-'}",
            file_fact(info) if toolkit else "toolkit=-",
            f"PATH={os.environ.get('PATH', '')}",
        ]
        return digest(self.namespace, self.version, facts)
