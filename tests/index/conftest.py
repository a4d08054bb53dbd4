"""Fixtures for the index layer: the real WheelNext index served over loopback HTTP, and small
real variant wheels (built with ``helpers.wheels``) with a payload big enough to tell a range
read from a whole download."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json

PAYLOAD = 256 * 1024  # incompressible bytes per wheel: a whole download is obvious in byte counts

PROVIDERS = {
    "toy": {"requires": ["toy-variant-provider >=0.1"], "plugin-api": "toy_variant_provider"},
    "blas": {"static-properties": {"library": ["openblas", "mkl"]}},
}
LABELS = {
    "x86_v4": ["toy :: level :: v4"],
    "mkl": ["blas :: library :: mkl"],
    "v2_cuda_openblas": [
        "toy :: level :: v2",
        "toy :: accel :: cuda12",
        "toy :: accel :: cuda13",
        "blas :: library :: openblas",
    ],
}


@pytest.fixture(scope="session")
def real_index_server(real_index_dir: Path) -> Iterator[LocalServer]:
    """The published WheelNext v0.0.3 index (PEP 503 pages + ``*-variants.json``) on loopback."""
    with serve_directory(real_index_dir) as server:
        yield server


def build_variant_release(dest: Path, *, payload: int = PAYLOAD) -> list[Path]:
    """``bigpkg`` 1.0: a plain wheel, a null variant and three labelled variants."""
    blob = os.urandom(payload)
    files = {"bigpkg/__init__.py": "X = 1\n", "bigpkg/blob.bin": blob}
    wheels = [
        build_wheel(dest, "bigpkg", "1.0", files=files, compression=zipfile.ZIP_STORED),
        build_wheel(
            dest,
            "bigpkg",
            "1.0",
            files=files,
            variant=variant_json(
                "null", [], providers=PROVIDERS, namespace_priorities=["toy", "blas"]
            ),
            compression=zipfile.ZIP_STORED,
        ),
    ]
    for label, props in LABELS.items():
        doc = variant_json(label, props, providers=PROVIDERS, namespace_priorities=["toy", "blas"])
        wheels.append(
            build_wheel(
                dest, "bigpkg", "1.0", files=files, variant=doc, compression=zipfile.ZIP_STORED
            )
        )
    return wheels


@pytest.fixture(scope="session")
def payload_size() -> int:
    return PAYLOAD


@pytest.fixture(scope="session")
def variant_wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_variant_release(tmp_path_factory.mktemp("bigpkg-wheels"))
