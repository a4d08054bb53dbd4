"""A small variant release built as real wheels, shared by the index, publish and CLI tests.

``vpub`` VERSION: a plain wheel, a null variant and two nvidia variants (``cu12`` needs a CUDA
12 driver, ``cu13`` a CUDA 13 one), each module saying which build it is
(``vpub.BUILD``); with ``build_tag`` the names have seven parts (``vpub-1.0-1-py3-none-any-cu12.whl``).
``NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION=12.8`` makes ``cu12`` the deterministic choice.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers.wheels import build_wheel, variant_json

NVIDIA = {"nvidia": {"requires": ["nvidia-variant-provider>=0.0.1"]}}
LABELS = {
    "cu12": ["nvidia :: cuda_version_lower_bound :: 12.0"],
    "cu13": ["nvidia :: cuda_version_lower_bound :: 13.0"],
    "null": [],
}
FORCE_CUDA_12 = {"NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.8"}


def _files(build: str, payload: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"vpub/__init__.py": f'BUILD = "{build}"\n'}
    if payload:
        files["vpub/blob.bin"] = os.urandom(payload)
    return files


def build_release(
    dest: Path,
    version: str = "1.0",
    *,
    labels: tuple[str, ...] = ("cu12", "cu13", "null"),
    plain: bool = True,
    build_tag: str | None = None,
    name: str = "vpub",
    payload: int = 0,
) -> list[Path]:
    """Write the release's wheels into ``dest``; returns their paths (plain wheel first)."""
    out = []
    if plain:
        out.append(
            build_wheel(dest, name, version, files=_files("plain", payload), build_tag=build_tag)
        )
    for label in labels:
        doc = variant_json(label, LABELS[label], providers=NVIDIA, namespace_priorities=["nvidia"])
        out.append(
            build_wheel(
                dest,
                name,
                version,
                variant=doc,
                files=_files(label, payload),
                build_tag=build_tag,
            )
        )
    return out
