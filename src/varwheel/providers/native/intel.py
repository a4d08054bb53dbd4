"""Native ``intel`` provider: answers like intel-variant-provider 0.0.3.

One multi-value feature, ``device_ip``: each Intel GPU's IP version (GMDID, ``arch.release.rev``)
followed by its compatible base IP (``20.2.0`` -> ``20.2.0, 20.1.0``), unique, restricted to the IPs
the plugin knows. Live detection uses Level Zero; ``INTEL_VARIANT_PROVIDER_FORCE_DEVICE_IP`` forces
one IP (no compat expansion, as in the plugin). Linux and Windows only.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from varwheel.providers.base import FeatureConfig, restrict_to
from varwheel.providers.native._common import (
    NativeProvider,
    digest,
    environ,
    forced,
    glob_fact,
    library_facts,
    plugin_api_names,
    read_fact,
)
from varwheel.providers.native._levelzero import decode_ip, query_device_ips

FORCE_IP_VAR = "INTEL_VARIANT_PROVIDER_FORCE_DEVICE_IP"

# IP -> compatible base IP, in the plugin 0.0.3 table order (newest first); None: no base.
DEVICE_IPS: dict[str, str | None] = {
    "30.1.0": "30.0.4",  # ptl-u
    "30.0.4": None,  # ptl-h
    "20.4.4": "20.1.0",  # lnl-m
    "20.2.0": "20.1.0",  # bmg-g31
    "20.1.0": None,  # bmg-g21
    "12.74.4": None,  # arl-h
    "12.71.4": "12.70.4",  # mtl-h
    "12.70.4": None,  # mtl-u, arl-u, arl-s
    "12.60.7": None,  # pvc
    "12.57.0": "12.55.8",  # acm-g12 / dg2-g12
    "12.56.5": "12.55.8",  # acm-g11 / dg2-g11
    "12.55.8": None,  # acm-g10 / dg2-g10
    "12.10.0": None,  # dg1
    "12.4.0": None,  # adl-n
    "12.3.0": None,  # adl-p, rpl-p
    "12.2.0": None,  # adl-s, rpl-s
    "12.1.0": None,  # rkl
    "12.0.0": None,  # tgllp
}

ALL_CONFIGS: tuple[FeatureConfig, ...] = (
    FeatureConfig("device_ip", tuple(DEVICE_IPS), multi_value=True),
)


def with_compat(ips: Iterable[str]) -> tuple[str, ...]:
    """Each IP then its compatible base IP, first occurrence kept."""
    out: dict[str, None] = {}
    for ip in ips:
        out.setdefault(ip)
        base = DEVICE_IPS.get(ip)
        if base is not None:
            out.setdefault(base)
    return tuple(out)


def intel_supported(ips: Iterable[str]) -> tuple[FeatureConfig, ...]:
    known = tuple(ip for ip in ips if ip in DEVICE_IPS)
    return (FeatureConfig("device_ip", known, multi_value=True),) if known else ()


def _live_ips() -> tuple[str, ...]:
    raw = query_device_ips()
    return with_compat(decode_ip(v) for v in raw) if raw else ()


@dataclass(frozen=True)
class IntelProvider(NativeProvider):
    """``environ`` and ``detect`` (decoded IPs, compat included) replace the live system."""

    environ: Mapping[str, str] | None = None
    detect: Callable[[], tuple[str, ...]] | None = None

    namespace: ClassVar[str] = "intel"
    version: ClassVar[str] = "0.0.3"
    override_env_vars: ClassVar[tuple[str, ...]] = (FORCE_IP_VAR,)
    distributions: ClassVar[tuple[str, ...]] = ("intel-variant-provider",)
    plugin_apis: ClassVar[tuple[str, ...]] = plugin_api_names(
        "intel_variant_provider", "IntelVariantPlugin"
    )
    all_configs: ClassVar[tuple[FeatureConfig, ...]] = ALL_CONFIGS

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        if self.detect is None and platform.system() not in ("Linux", "Windows"):
            return ()
        forced_ip = forced(environ(self.environ), FORCE_IP_VAR)
        ips = (forced_ip,) if forced_ip else (self.detect or _live_ips)()
        return restrict_to(intel_supported(ips), ALL_CONFIGS)

    def fingerprint(self) -> str:
        facts = [glob_fact(Path("/dev/dri"), "renderD*")]
        try:
            cards = sorted(Path("/sys/class/drm").glob("card[0-9]*"))
        except OSError:
            cards = []
        for card in cards:
            facts += [read_fact(card / "device" / "vendor"), read_fact(card / "device" / "device")]
        facts += library_facts()
        return digest(self.namespace, self.version, facts)
