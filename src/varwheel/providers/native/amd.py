"""Native ``amd`` provider: answers like amd-variant-provider 0.0.2.

Features: ``gfx_arch`` (multi-value; the GPUs' gfx ids) then ``rocm_version`` (single ``X.Y``, an
exact match). Forced by ``AMD_VARIANT_PROVIDER_FORCE_GFX_ARCH`` (list split on comma, space or
``;``, order kept) and ``AMD_VARIANT_PROVIDER_FORCE_ROCM_VERSION`` (``X.Y.Z``).

Live detection reads the KFD topology in sysfs (each GPU node's ``gfx_target_version``) instead
of running ``rocminfo``: same ids, no subprocess. As in the plugin, detected ids are sorted and
if any is unknown (not in ``AMD_PREFERRED_GFX_ARCHS`` or the default list) no ``gfx_arch`` is
reported. The ROCm version comes from ``$ROCM_PATH/.info/version`` or ``/opt/rocm/.info/version``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from varwheel.errors import ProviderError
from varwheel.providers.base import FeatureConfig, restrict_to
from varwheel.providers.native._common import (
    NativeProvider,
    digest,
    environ,
    forced,
    glob_fact,
    plugin_api_names,
    read_fact,
)

FORCE_GFX_VAR = "AMD_VARIANT_PROVIDER_FORCE_GFX_ARCH"
FORCE_ROCM_VAR = "AMD_VARIANT_PROVIDER_FORCE_ROCM_VERSION"
PREFERRED_GFX_VAR = "AMD_PREFERRED_GFX_ARCHS"

KNOWN_GFX: tuple[str, ...] = (
    "gfx900", "gfx906", "gfx908", "gfx90a", "gfx942",
    "gfx1030", "gfx1100", "gfx1101", "gfx1102", "gfx1200", "gfx1201",
)  # fmt: skip
ROCM_VERSIONS: tuple[str, ...] = (*(f"7.{minor}" for minor in range(10, -1, -1)), "6.4", "6.3")

ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("rocm_version", ROCM_VERSIONS),
    FeatureConfig("gfx_arch", KNOWN_GFX, multi_value=True),
)

KFD_NODES = Path("class/kfd/kfd/topology/nodes")
_LIST_SPLIT = re.compile(r"[,\s;]+")


def split_list(text: str) -> list[str]:
    """The plugin's list syntax: comma, whitespace or semicolon separated, empties dropped."""
    return [part for part in _LIST_SPLIT.split(text.strip()) if part]


def gfx_name(target_version: int) -> str | None:
    """KFD ``gfx_target_version`` (``major*10000 + minor*100 + stepping``) as a gfx id.

    ``90010`` -> ``gfx90a``, ``110000`` -> ``gfx1100``; 0 (a CPU node) -> None.
    """
    if target_version <= 0:
        return None
    major, rest = divmod(target_version, 10000)
    minor, stepping = divmod(rest, 100)
    return f"gfx{major}{minor:x}{stepping:x}"


def kfd_gfx_ids(sysfs: Path) -> list[str]:
    """gfx ids of the GPU nodes in the KFD topology under ``sysfs`` (empty without amdgpu)."""
    ids: list[str] = []
    try:
        nodes = sorted((sysfs / KFD_NODES).iterdir())
    except OSError:
        return ids
    for node in nodes:
        try:
            text = (node / "properties").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "gfx_target_version" and value.strip().isdigit():
                name = gfx_name(int(value))
                if name is not None:
                    ids.append(name)
    return ids


def parse_rocm_version_file(text: str) -> tuple[int, int] | None:
    """``6.4.1-120`` -> ``(6, 4)``; the plugin accepts two or more numeric components."""
    parts = re.split(r"[.-]", text.strip())
    try:
        return (int(parts[0]), int(parts[1])) if len(parts) >= 2 else None
    except ValueError:
        return None


def detected_gfx(ids: list[str], known: tuple[str, ...]) -> tuple[str, ...]:
    """The plugin's policy: sorted unique ids, and nothing at all if any is unknown."""
    unique = sorted(set(ids))
    return tuple(unique) if unique and all(g in known for g in unique) else ()


def amd_supported(gfx: tuple[str, ...], rocm: str | None) -> tuple[FeatureConfig, ...]:
    configs = []
    if gfx:
        configs.append(FeatureConfig("gfx_arch", gfx, multi_value=True))
    if rocm:
        configs.append(FeatureConfig("rocm_version", (rocm,)))
    return tuple(configs)


def parse_forced_rocm(text: str) -> str:
    parts = text.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise ProviderError(f"{FORCE_ROCM_VAR}={text!r} must have three components (e.g. 6.4.0)")
    return f"{parts[0]}.{parts[1]}"


@dataclass(frozen=True)
class AMDProvider(NativeProvider):
    """``environ``, ``sysfs`` and ``rocm_roots`` replace the live system (profiles, tests)."""

    environ: Mapping[str, str] | None = None
    sysfs: Path = Path("/sys")
    rocm_roots: tuple[Path, ...] | None = field(default=None)

    namespace: ClassVar[str] = "amd"
    version: ClassVar[str] = "0.0.2"
    override_env_vars: ClassVar[tuple[str, ...]] = (
        FORCE_GFX_VAR,
        FORCE_ROCM_VAR,
        PREFERRED_GFX_VAR,
        "ROCM_PATH",
    )
    distributions: ClassVar[tuple[str, ...]] = ("amd-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = plugin_api_names(
        "amd_variant_provider", "AMDVariantPlugin"
    )
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS

    def _rocm_roots(self, env: Mapping[str, str]) -> tuple[Path, ...]:
        if self.rocm_roots is not None:
            return self.rocm_roots
        root = forced(env, "ROCM_PATH")
        return (Path(root) if root else Path("/opt/rocm"),)

    def _live_gfx(self, env: Mapping[str, str]) -> tuple[str, ...]:
        preferred = [g.strip() for g in env.get(PREFERRED_GFX_VAR, "").split(",") if g.strip()]
        return detected_gfx(kfd_gfx_ids(self.sysfs), tuple(preferred) or KNOWN_GFX)

    def _live_rocm(self, env: Mapping[str, str]) -> str | None:
        for root in self._rocm_roots(env):
            try:
                text = (root / ".info" / "version").read_text(encoding="utf-8")
            except OSError:
                continue
            version = parse_rocm_version_file(text)
            if version is not None:
                return f"{version[0]}.{version[1]}"
        return None

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        env = environ(self.environ)
        forced_gfx = forced(env, FORCE_GFX_VAR)
        gfx = tuple(dict.fromkeys(split_list(forced_gfx))) if forced_gfx else self._live_gfx(env)
        forced_rocm = forced(env, FORCE_ROCM_VAR)
        rocm = parse_forced_rocm(forced_rocm) if forced_rocm else self._live_rocm(env)
        return restrict_to(amd_supported(gfx, rocm), ALL_CONFIGS)

    def fingerprint(self) -> str:
        env = environ(self.environ)
        nodes = self.sysfs / KFD_NODES
        facts = [glob_fact(nodes, "*")]
        try:
            node_dirs = sorted(nodes.iterdir())
        except OSError:
            node_dirs = []
        facts += [read_fact(node / "properties") for node in node_dirs]
        facts += [read_fact(root / ".info" / "version") for root in self._rocm_roots(env)]
        return digest(self.namespace, self.version, facts)
