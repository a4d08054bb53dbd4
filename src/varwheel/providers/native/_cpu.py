"""CPU microarchitecture detection for the x86_64 and aarch64 providers, through archspec.

``live_host()`` is archspec's own host detection. ``host_from_cpuinfo()`` runs the same selection
on a given ``/proc/cpuinfo`` text and machine, so a profile (or a test) can describe a CPU other
than the one this process runs on. archspec is imported lazily: it parses a JSON database.
"""

from __future__ import annotations

import platform
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from varwheel.providers.base import FeatureConfig, restrict_to
from varwheel.providers.native._common import NativeProvider, digest

if TYPE_CHECKING:
    from archspec.cpu import Microarchitecture

CPUINFO = Path("/proc/cpuinfo")
_X86_MACHINES = frozenset({"x86_64", "amd64", "x64"})
_ARM_MACHINES = frozenset({"aarch64", "arm64"})


def normalize_machine(machine: str) -> str:
    """``platform.machine()`` spelled as archspec's family name (``x86_64`` / ``aarch64``)."""
    lowered = machine.lower()
    if lowered in _X86_MACHINES:
        return "x86_64"
    if lowered in _ARM_MACHINES:
        return "aarch64"
    return lowered


def first_cpuinfo_block(text: str) -> dict[str, str]:
    """Key/value pairs of the first processor in a ``/proc/cpuinfo`` text."""
    data: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if data:
                break
            continue
        data[key.strip()] = value.strip()
    return data


def host_from_cpuinfo(text: str, machine: str) -> Microarchitecture:
    """The archspec target a Linux host with this ``/proc/cpuinfo`` is detected as.

    Mirrors ``archspec.cpu.host()`` (best generic, optional ``CPU part`` filter, deepest
    descendant), but for the given machine instead of the running one.
    """
    from archspec.cpu import TARGETS, generic_microarchitecture
    from archspec.cpu.detect import COMPATIBILITY_CHECKS, partial_uarch
    from archspec.cpu.schema import TARGETS_JSON

    family = normalize_machine(machine)
    data = first_cpuinfo_block(text)
    if family == "x86_64":
        info = partial_uarch(
            vendor=data.get("vendor_id", "generic"), features=set(data.get("flags", "").split())
        )
    elif family == "aarch64":
        implementer = data.get("CPU implementer")
        vendor = (
            TARGETS_JSON["conversions"]["arm_vendors"].get(implementer, implementer)
            if implementer
            else "generic"
        )
        info = partial_uarch(
            vendor=vendor,
            features=set(data.get("Features", "").split()),
            cpu_part=data.get("CPU part", ""),
        )
    else:
        return generic_microarchitecture(family)

    tester = COMPATIBILITY_CHECKS[family]
    candidates = [t for t in TARGETS.values() if tester(info, t)] or [
        generic_microarchitecture(family)
    ]

    def depth(item: Microarchitecture) -> tuple[int, int]:
        return len(item.ancestors), len(item.features)

    best_generic = max((c for c in candidates if c.vendor == "generic"), key=depth)
    if info.cpu_part and any(c.cpu_part == info.cpu_part for c in candidates):
        candidates = [c for c in candidates if c.cpu_part == info.cpu_part]
    candidates = [c for c in candidates if c > best_generic]
    return max(candidates, key=depth) if candidates else best_generic


@cache
def live_host() -> Microarchitecture | None:
    """archspec's view of this machine, or None if detection fails (never prints)."""
    try:
        import archspec.cpu

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return archspec.cpu.host()
    except Exception:  # archspec raises assorted errors on exotic hosts; treat as unknown
        return None


def cpu_facts(cpuinfo: Path = CPUINFO) -> list[str]:
    """What the CPU providers' answers depend on: machine, first cpuinfo block, archspec DB."""
    try:
        from archspec import __version__ as archspec_version  # the package root is tiny
    except ImportError:
        archspec_version = "-"
    try:
        data = first_cpuinfo_block(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        data = {}
    keys = ("vendor_id", "model name", "flags", "CPU implementer", "CPU part", "Features")
    block = "\n".join(f"{k}={data.get(k, '')}" for k in keys)
    return [platform.system(), normalize_machine(platform.machine()), archspec_version, block]


@dataclass(frozen=True)
class CpuProvider(NativeProvider):
    """The x86_64 / aarch64 providers: ``host`` replaces live detection (an archspec target
    factory, e.g. ``lambda: host_from_cpuinfo(text, "aarch64")`` for a profile or a test)."""

    host: Callable[[], Microarchitecture | None] | None = None
    cpuinfo: Path = CPUINFO

    def supported_for(self, host: Microarchitecture | None) -> tuple[FeatureConfig, ...]:
        raise NotImplementedError

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]:
        host = (self.host or live_host)()
        return restrict_to(self.supported_for(host), self.all_configs)

    def fingerprint(self) -> str:
        return digest(self.namespace, self.version, cpu_facts(self.cpuinfo))
