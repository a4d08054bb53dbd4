"""The few Level Zero calls the intel provider needs, through ctypes (no third-party binding).

Level Zero's loader (``libze_loader.so.1``) ships with Intel's GPU runtime; without it
:func:`query_device_ips` returns None without output.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

ZE_RESULT_SUCCESS = 0
ZE_INIT_DRIVER_TYPE_FLAG_GPU = 1
ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES = 0x3
ZE_STRUCTURE_TYPE_INIT_DRIVER_TYPE_DESC = 0x00020021
ZE_STRUCTURE_TYPE_DEVICE_IP_VERSION_EXT = 0x1000F
ZE_MAX_DEVICE_NAME = 256
ZE_MAX_DEVICE_UUID_SIZE = 16
INTEL_VENDOR_ID = 0x8086
LINUX_LIBRARY = "libze_loader.so.1"


class InitDriverTypeDesc(ctypes.Structure):
    _fields_ = (("stype", ctypes.c_uint32), ("pNext", ctypes.c_void_p), ("flags", ctypes.c_uint32))


class DeviceIpVersionExt(ctypes.Structure):
    _fields_ = (
        ("stype", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("ipVersion", ctypes.c_uint32),
    )


class DeviceProperties(ctypes.Structure):
    """``ze_device_properties_t`` (Level Zero spec 1.x)."""

    _fields_ = (
        ("stype", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("type", ctypes.c_uint32),
        ("vendorId", ctypes.c_uint32),
        ("deviceId", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("subdeviceId", ctypes.c_uint32),
        ("coreClockRate", ctypes.c_uint32),
        ("maxMemAllocSize", ctypes.c_uint64),
        ("maxHardwareContexts", ctypes.c_uint32),
        ("maxCommandQueuePriority", ctypes.c_uint32),
        ("numThreadsPerEU", ctypes.c_uint32),
        ("physicalEUSimdWidth", ctypes.c_uint32),
        ("numEUsPerSubslice", ctypes.c_uint32),
        ("numSubslicesPerSlice", ctypes.c_uint32),
        ("numSlices", ctypes.c_uint32),
        ("timerResolution", ctypes.c_uint64),
        ("timestampValidBits", ctypes.c_uint32),
        ("kernelTimestampValidBits", ctypes.c_uint32),
        ("uuid", ctypes.c_uint8 * ZE_MAX_DEVICE_UUID_SIZE),
        ("name", ctypes.c_char * ZE_MAX_DEVICE_NAME),
    )


def decode_ip(value: int) -> str:
    """A GMDID IP version as ``architecture.release.revision`` (``0x030F0007`` -> ``12.60.7``)."""
    return f"{value >> 22}.{(value >> 14) & 0xFF}.{value & 0x3F}"


def library_candidates() -> tuple[str, ...]:
    if os.name == "nt":
        return (str(Path(os.environ.get("WINDIR", "C:/Windows")) / "System32" / "ze_loader.dll"),)
    return (LINUX_LIBRARY,)


def _handles(fn: Any, *prefix: Any) -> list[ctypes.c_void_p] | None:
    count = ctypes.c_uint32(0)
    if fn(*prefix, ctypes.byref(count), None) != ZE_RESULT_SUCCESS:
        return None
    array = (ctypes.c_void_p * count.value)()
    if fn(*prefix, ctypes.byref(count), array) != ZE_RESULT_SUCCESS:
        return None
    return [ctypes.c_void_p(array[i]) for i in range(count.value)]


def _drivers(lib: ctypes.CDLL) -> list[ctypes.c_void_p] | None:
    desc = InitDriverTypeDesc(
        ZE_STRUCTURE_TYPE_INIT_DRIVER_TYPE_DESC, None, ZE_INIT_DRIVER_TYPE_FLAG_GPU
    )
    init_drivers = getattr(lib, "zeInitDrivers", None)
    if init_drivers is not None:  # API >= 1.10
        count = ctypes.c_uint32(0)
        if init_drivers(ctypes.byref(count), None, ctypes.byref(desc)) != ZE_RESULT_SUCCESS:
            return None
        array = (ctypes.c_void_p * count.value)()
        if init_drivers(ctypes.byref(count), array, ctypes.byref(desc)) != ZE_RESULT_SUCCESS:
            return None
        return [ctypes.c_void_p(array[i]) for i in range(count.value)]
    init = getattr(lib, "zeInit", None)
    driver_get = getattr(lib, "zeDriverGet", None)
    if init is None or driver_get is None or init(ctypes.c_uint32(desc.flags)) != ZE_RESULT_SUCCESS:
        return None
    return _handles(driver_get)


def query_device_ips(names: tuple[str, ...] | None = None) -> list[int] | None:
    """Raw IP versions of the Intel GPUs, or None when Level Zero is absent or fails."""
    lib = None
    for name in names or library_candidates():
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        return None
    try:
        drivers = _drivers(lib)
        device_get = getattr(lib, "zeDeviceGet", None)
        get_properties = getattr(lib, "zeDeviceGetProperties", None)
        if drivers is None or device_get is None or get_properties is None:
            return None
        ips: list[int] = []
        for driver in drivers:
            for device in _handles(device_get, driver) or []:
                ip = DeviceIpVersionExt(ZE_STRUCTURE_TYPE_DEVICE_IP_VERSION_EXT, None, 0)
                props = DeviceProperties()
                props.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES
                props.pNext = ctypes.cast(ctypes.pointer(ip), ctypes.c_void_p)
                if get_properties(device, ctypes.byref(props)) != ZE_RESULT_SUCCESS:
                    return None
                if props.vendorId == INTEL_VENDOR_ID:
                    ips.append(ip.ipVersion)
        return ips
    except (OSError, ValueError):
        return None
