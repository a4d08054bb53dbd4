"""The few NVML calls the nvidia provider needs, through ctypes (no third-party binding).

NVML ships with the NVIDIA driver (``libnvidia-ml.so.1``); without a driver the library is
missing and :func:`query_nvml` returns None without output.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NVML_SUCCESS = 0
LINUX_LIBRARY = "libnvidia-ml.so.1"


@dataclass(frozen=True)
class CudaEnvironment:
    """What NVML reports: the CUDA driver (UMD) version as (major, minor), and each GPU's SM."""

    cuda_driver_version: tuple[int, int] | None
    architectures: frozenset[tuple[int, int]]


def decode_cuda_version(value: int) -> tuple[int, int]:
    """NVML's integer CUDA version (``12080``) as ``(12, 8)``."""
    return value // 1000, (value % 1000) // 10


def library_candidates() -> tuple[str, ...]:
    if os.name == "nt":
        windir = os.environ.get("WINDIR", "C:/Windows")
        program_files = os.environ.get("PROGRAMFILES", "C:/Program Files")
        return (
            str(Path(windir) / "System32" / "nvml.dll"),
            str(Path(program_files) / "NVIDIA Corporation" / "NVSMI" / "nvml.dll"),
        )
    return (LINUX_LIBRARY,)


def _load(names: tuple[str, ...]) -> ctypes.CDLL | None:
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _function(lib: ctypes.CDLL, *names: str) -> Any:
    for name in names:
        func = getattr(lib, name, None)
        if func is not None:
            func.restype = ctypes.c_int
            return func
    return None


def _devices(lib: ctypes.CDLL) -> list[ctypes.c_void_p] | None:
    get_count = _function(lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount")
    get_handle = _function(lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex")
    if get_count is None or get_handle is None:
        return None
    count = ctypes.c_uint(0)
    if get_count(ctypes.byref(count)) != NVML_SUCCESS:
        return None
    handles = []
    for index in range(count.value):
        handle = ctypes.c_void_p()
        if get_handle(ctypes.c_uint(index), ctypes.byref(handle)) != NVML_SUCCESS:
            return None
        handles.append(handle)
    return handles


def query_nvml(names: tuple[str, ...] | None = None) -> CudaEnvironment | None:
    """CUDA driver version and compute capabilities, or None when NVML is absent or fails.

    Sequence as in nvidia-variant-provider: init, CUDA driver version (v2 then v1), device count,
    per device handle and compute capability; a failing device query drops only that device, a
    failing handle or count drops everything; ``nvmlShutdown`` always runs after a successful init.
    """
    lib = _load(names or library_candidates())
    if lib is None:
        return None
    init = _function(lib, "nvmlInit_v2", "nvmlInit")
    shutdown = _function(lib, "nvmlShutdown")
    if init is None or shutdown is None or init() != NVML_SUCCESS:
        return None
    try:
        version: tuple[int, int] | None = None
        raw = ctypes.c_int(0)
        for name in ("nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"):
            func = _function(lib, name)
            if func is not None and func(ctypes.byref(raw)) == NVML_SUCCESS:
                version = decode_cuda_version(raw.value)
                break
        devices = _devices(lib)
        if devices is None:
            return None
        capability = _function(lib, "nvmlDeviceGetCudaComputeCapability")
        archs: set[tuple[int, int]] = set()
        for handle in devices:
            major, minor = ctypes.c_int(0), ctypes.c_int(0)
            if capability is not None and (
                capability(handle, ctypes.byref(major), ctypes.byref(minor)) == NVML_SUCCESS
            ):
                archs.add((major.value, minor.value))
        return CudaEnvironment(version, frozenset(archs))
    finally:
        shutdown()
