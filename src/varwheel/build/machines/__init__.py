"""Representative target machines for ``varwheel matrix --coverage`` (docs/build-matrix.md).

Each ``<name>.toml`` next to this module is a profile (docs/configuration.md#profiles) written by
:func:`render` from the spec in :data:`MACHINES`: the native providers are run with the machine's
CPU as an archspec target (or a ``/proc/cpuinfo`` block where archspec has no named target) and
its GPU through the providers' ``*_FORCE_*`` variables, so every value list has the order the
real provider would report on that machine. Regenerate after a provider change with
``python -m varwheel.build.machines``; a test checks the files equal the rendering.

The ``[profile]`` header adds ``description`` and ``markers`` (the PEP 508 environment values
``enable-if`` markers see on that machine); profile readers ignore both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

if TYPE_CHECKING:
    from archspec.cpu import Microarchitecture

    from varwheel.providers.base import Provider

__all__ = ["MACHINES", "MACHINES_DIR", "MachineSpec", "render", "write_all"]

MACHINES_DIR = Path(__file__).resolve().parent
CREATED_BY = "varwheel.build.machines (native providers)"

# /proc/cpuinfo of a Snapdragon X Elite (Qualcomm Oryon) under Linux: archspec has no named
# target for it, so the aarch64 provider sees it the way it would on the machine.
SNAPDRAGON_X_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 38.40
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm \
jscvt fcma lrcpc dcpop sha3 asimddp sha512 asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg \
dcpodp flagm2 frint i8mm bf16 rng bti ecv afp rpres
CPU implementer\t: 0x51
CPU architecture: 8
CPU variant\t: 0x2
CPU part\t: 0x001
CPU revision\t: 1
"""


@dataclass(frozen=True)
class MachineSpec:
    """``cpu``: an archspec target name, or ``cpuinfo:<machine>`` with ``cpuinfo`` text;
    ``nvidia``: (CUDA driver version, compute capability) as the FORCE variables spell them;
    ``amd``: (gfx ids, ROCm version)."""

    name: str
    description: str
    cpu: str
    cpuinfo: str | None = None
    nvidia: tuple[str, str] | None = None
    amd: tuple[str, str] | None = None
    markers: Mapping[str, str] = field(default_factory=dict)

    @property
    def machine(self) -> str:
        from archspec.cpu import TARGETS

        if self.cpu.startswith("cpuinfo:"):
            return self.cpu.removeprefix("cpuinfo:")
        family = TARGETS[self.cpu].family.name
        return "aarch64" if family == "aarch64" else "x86_64"


def _linux(machine: str) -> dict[str, str]:
    return {"platform_machine": machine, "platform_system": "Linux", "sys_platform": "linux"}


_X86 = "x86_64"
_ARM = "aarch64"
MACHINES: tuple[MachineSpec, ...] = (
    # x86-64 micro-architecture levels (psABI v1-v4)
    MachineSpec("x86-64-v1-core2", "x86-64-v1: Intel Core 2 (also QEMU's default qemu64 CPU)",
                "core2"),
    MachineSpec("x86-64-v2-sandybridge", "x86-64-v2: Intel Sandy Bridge (2011)", "sandybridge"),
    MachineSpec("x86-64-v3-haswell", "x86-64-v3: Intel Haswell (2013) desktops and laptops",
                "haswell"),
    MachineSpec("x86-64-v3-alderlake", "x86-64-v3: Intel Alder Lake laptops (no AVX-512)",
                "alderlake"),
    MachineSpec("x86-64-v3-zen3", "x86-64-v3: AMD EPYC Milan / Ryzen 5000 (AWS c6a, GCP c2d)",
                "zen3"),
    MachineSpec("x86-64-v4-cascadelake", "x86-64-v4: Intel Xeon Cascade Lake (AWS c5/m5)",
                "cascadelake"),
    MachineSpec("x86-64-v4-icelake", "x86-64-v4: Intel Xeon Ice Lake (AWS c6i, GCP n2)",
                "icelake"),
    MachineSpec("x86-64-v4-sapphirerapids",
                "x86-64-v4: Intel Xeon Sapphire Rapids (AWS c7i, GCP c3)", "sapphirerapids"),
    MachineSpec("x86-64-v4-zen4", "x86-64-v4: AMD EPYC Genoa / Ryzen 7000 (AWS c7a)", "zen4"),
    # AArch64 servers and laptops
    MachineSpec("aarch64-graviton2", "AArch64: AWS Graviton2 (Neoverse N1)", "neoverse_n1"),
    MachineSpec("aarch64-graviton3", "AArch64: AWS Graviton3 (Neoverse V1)", "neoverse_v1"),
    MachineSpec("aarch64-graviton4", "AArch64: AWS Graviton4 (Neoverse V2)", "neoverse_v2"),
    MachineSpec("aarch64-ampere-altra", "AArch64: Ampere Altra (Neoverse N1; Azure Dpsv5, "
                "GCP t2a, OCI A1)", "neoverse_n1"),
    MachineSpec("aarch64-ampereone", "AArch64: AmpereOne (OCI A2)", "ampere1"),
    MachineSpec("aarch64-apple-m1-linux", "AArch64: Apple M1 under Linux (Asahi)", "m1"),
    MachineSpec("aarch64-apple-m2-linux", "AArch64: Apple M2 under Linux (Asahi)", "m2"),
    MachineSpec("aarch64-snapdragon-x", "AArch64: Snapdragon X Elite (Oryon) laptops under "
                "Linux; archspec has no Oryon target, so the provider reports only 8a",
                "cpuinfo:aarch64", cpuinfo=SNAPDRAGON_X_CPUINFO),
    MachineSpec("aarch64-raspberry-pi-4", "AArch64: Raspberry Pi 4 (Cortex-A72)", "cortex_a72"),
    # NVIDIA GPU generations, with a typical driver (CUDA driver API version) and host CPU
    MachineSpec("nvidia-t4", "NVIDIA T4 (sm_75), driver 535 / CUDA 12.2, Xeon Cascade Lake "
                "(AWS g4dn)", "cascadelake", nvidia=("12.2", "7.5")),
    MachineSpec("nvidia-a100", "NVIDIA A100 (sm_80), driver 550 / CUDA 12.4, Xeon Cascade Lake "
                "(AWS p4d)", "cascadelake", nvidia=("12.4", "8.0")),
    MachineSpec("nvidia-l4", "NVIDIA L4 (sm_89), driver 550 / CUDA 12.4, AMD EPYC Milan "
                "(AWS g6)", "zen3", nvidia=("12.4", "8.9")),
    MachineSpec("nvidia-rtx4090", "NVIDIA GeForce RTX 4090 (sm_89), driver 570 / CUDA 12.8, "
                "Ryzen 7000 desktop", "zen4", nvidia=("12.8", "8.9")),
    MachineSpec("nvidia-h100", "NVIDIA H100 (sm_90), driver 570 / CUDA 12.8, AMD EPYC Milan "
                "(AWS p5)", "zen3", nvidia=("12.8", "9.0")),
    MachineSpec("nvidia-h200", "NVIDIA H200 (sm_90), driver 575 / CUDA 12.9, Xeon Sapphire "
                "Rapids (AWS p5e)", "sapphirerapids", nvidia=("12.9", "9.0")),
    MachineSpec("nvidia-gh200", "NVIDIA GH200 (sm_90), driver 570 / CUDA 12.8, Grace "
                "(Neoverse V2)", "neoverse_v2", nvidia=("12.8", "9.0")),
    MachineSpec("nvidia-b200", "NVIDIA B200 (sm_100), driver 580 / CUDA 13.0, Xeon Sapphire "
                "Rapids", "sapphirerapids", nvidia=("13.0", "10.0")),
    MachineSpec("nvidia-rtx5090", "NVIDIA GeForce RTX 5090 (sm_120), driver 575 / CUDA 12.9, "
                "Ryzen 9000 desktop", "zen5", nvidia=("12.9", "12.0")),
    # AMD Instinct, for projects shipping ROCm variants
    MachineSpec("amd-mi300x", "AMD Instinct MI300X (gfx942), ROCm 6.4, AMD EPYC Genoa", "zen4",
                amd=("gfx942", "6.4.0")),
)  # fmt: skip


def _host(spec: MachineSpec) -> Callable[[], Microarchitecture]:
    from archspec.cpu import TARGETS

    from varwheel.providers.native._cpu import host_from_cpuinfo

    if spec.cpuinfo is not None:
        text, machine = spec.cpuinfo, spec.machine
        return lambda: host_from_cpuinfo(text, machine)
    target = TARGETS[spec.cpu]
    return lambda: target


def providers_for(spec: MachineSpec) -> tuple[Provider, ...]:
    """The native install-time providers, wired to this machine instead of the live one."""
    from varwheel.providers.native import (
        AArch64Provider,
        AMDProvider,
        AscendProvider,
        IntelProvider,
        NvidiaProvider,
        X8664Provider,
    )
    from varwheel.providers.native.amd import FORCE_GFX_VAR, FORCE_ROCM_VAR
    from varwheel.providers.native.ascend import AscendEnvironment
    from varwheel.providers.native.nvidia import FORCE_CUDA_VAR, FORCE_SM_VAR

    host = _host(spec)
    nvidia_env = (
        {FORCE_CUDA_VAR: spec.nvidia[0], FORCE_SM_VAR: spec.nvidia[1]} if spec.nvidia else {}
    )
    amd_env = {FORCE_GFX_VAR: spec.amd[0], FORCE_ROCM_VAR: spec.amd[1]} if spec.amd else {}
    nowhere = Path("/nonexistent-varwheel-machine")
    return (
        X8664Provider(host=host, cpuinfo=nowhere),
        AArch64Provider(host=host, cpuinfo=nowhere),
        NvidiaProvider(environ=nvidia_env, detect=lambda: None),
        AMDProvider(environ=amd_env, sysfs=nowhere, rocm_roots=()),
        IntelProvider(environ={}, detect=lambda: ()),
        AscendProvider(environ={}, detect=lambda env: AscendEnvironment()),
    )  # fmt: skip


def render(spec: MachineSpec) -> str:
    """The profile TOML of one machine (deterministic)."""
    from varwheel.providers.base import configs_to_properties

    properties: dict[str, Any] = {}
    for provider in sorted(providers_for(spec), key=lambda p: p.namespace):
        configs = configs_to_properties(provider.get_supported_configs())
        properties[provider.namespace] = {f: list(v) for f, v in configs.items()}
    doc = {
        "profile": {
            "created-by": CREATED_BY,
            "description": spec.description,
            "markers": dict(spec.markers) or _linux(spec.machine),
        },
        "properties": properties,
    }
    return tomli_w.dumps(doc)


def write_all(directory: Path = MACHINES_DIR) -> list[Path]:
    """(Re)write every machine's profile; returns the paths written."""
    from varwheel.fsutil import atomic_write

    written = []
    for spec in MACHINES:
        path = directory / f"{spec.name}.toml"
        atomic_write(path, render(spec).encode())
        written.append(path)
    return written
