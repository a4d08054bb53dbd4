"""One line per provider answer, in the user's words: shared by ``varwheel detect`` and the
notes install/explain print about the target's namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from varwheel.providers.detect import NamespaceResult
from varwheel.providers.registry import native_provider_by_namespace

# What "nothing supported" means for the hardware namespaces, in the user's words.
NOTHING_FOUND = {
    "nvidia": "no NVIDIA GPU found",
    "amd": "no AMD GPU found",
    "intel": "no Intel GPU found",
    "ascend": "no Huawei Ascend NPU found",
    "x86_64": "not an x86-64 CPU",
    "aarch64": "not an AArch64 CPU",
}

# Cheap facts that explain an empty answer (presentation only; detection is the provider's job).
DRIVER_FACTS = {
    "nvidia": (Path("/proc/driver/nvidia/version"), "no NVIDIA kernel driver loaded"),
    "amd": (Path("/dev/kfd"), "no ROCm kernel driver (/dev/kfd absent)"),
    "intel": (Path("/dev/dri"), "no GPU device nodes (/dev/dri absent)"),
    "ascend": (Path("/dev/davinci_manager"), "no Ascend driver (/dev/davinci_manager absent)"),
}


def _why_nothing(namespace: str) -> str:
    fact = DRIVER_FACTS.get(namespace)
    if fact is not None and not fact[0].exists():
        why = fact[1]
    else:
        why = "the provider reported no supported properties"
    provider = native_provider_by_namespace(namespace)
    forced = [v for v in getattr(provider, "override_env_vars", ()) if "_FORCE_" in v]
    if forced:  # e.g. NV_VARIANT_PROVIDER_FORCE_*
        why += f"; {forced[0][: forced[0].index('_FORCE_') + 7]}* variables can describe one"
    return why


_SHOWN_VALUES = 4


def _summarised(values: tuple[str, ...] | list[str]) -> str:
    """A feature's values, most preferred first; a long list (the nvidia provider answers 32
    CUDA lower bounds and 78 upper bounds derived from one driver) shows its head, a count and
    where it ends: ``12.8, 12.7, 12.6, 12.5, … and 28 more, down to 11``. ``--json`` has all."""
    if len(values) <= _SHOWN_VALUES * 2:
        return ", ".join(values)
    more = len(values) - _SHOWN_VALUES
    return f"{', '.join(values[:_SHOWN_VALUES])}, … and {more} more, down to {values[-1]}"


def describe(result: NamespaceResult) -> str:
    """One line: the supported features, or why there are none."""
    if result.properties is None:
        return f"unavailable: {result.reason}"
    if not result.properties:
        found = NOTHING_FOUND.get(result.namespace, "nothing supported on this machine")
        return f"{found} ({_why_nothing(result.namespace)})"
    parts = [f"{f}: {_summarised(v)}" for f, v in result.properties.items() if v != ("on",)]
    flags = [f for f, v in result.properties.items() if v == ("on",)]
    if flags:  # ISA extensions: one "on" feature each, listed together
        parts.append(f"{len(flags)} flags on: {' '.join(flags)}")
    return "; ".join(parts)


# ``platform_machine`` spellings of one architecture (Windows and macOS name them differently)
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}


def _arch(machine: str) -> str:
    low = machine.lower()
    return _ARCH_ALIASES.get(low, low)


def undescribed_target_warning(
    target_env: Mapping[str, str], *, host_machine: str | None = None
) -> str | None:
    """One line when the target (its ``platform_machine`` marker) is another CPU architecture
    than this machine and no profile describes it: the native providers that probe hardware
    (CPU, GPUs, NPUs) can only answer for this machine; None otherwise."""
    import platform

    from varwheel.providers.native import NATIVE_PROVIDER_TYPES

    target = target_env.get("platform_machine", "")
    host = host_machine if host_machine is not None else platform.machine()
    if not target or not host or _arch(target) == _arch(host):
        return None
    names = sorted(cls.namespace for cls in NATIVE_PROVIDER_TYPES if not cls.is_static)
    return (
        f"the target's CPU is {target}, this machine's is {host}: the {', '.join(names)} "
        "providers cannot describe it (they probe this machine's CPU and devices), so their "
        "variants are judged by this machine; describe the target with --profile FILE "
        "(written by `varwheel detect --output FILE` on that machine)"
    )
