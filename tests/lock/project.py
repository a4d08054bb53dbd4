"""A GPU project built as real wheels, and whole-machine profiles, for the lock tests.

``gpulib 1.0``: variants ``cu128`` (CUDA >= 12.8, sm 9.0), ``cu130`` (CUDA >= 13.0, sm 12.0),
``null``, and a non-variant wheel. One METADATA for all; its variant markers pull a different
dependency set per variant (PEP 825 §"Environment markers"):

- ``gpulib-cu12-rt`` for ``cu128`` (``variant_label``), ``gpulib-cu13-rt`` for ``cu130``;
- ``gpulib-sm120-kernels`` when ``nvidia :: sm_arch :: 120_real`` is a supported property;
- ``gpulib-cpu-rt`` without the nvidia namespace (null and non-variant);
- ``common-dep`` always; ``gpulib-extra`` for the ``fast`` extra of a CUDA variant.

``vonly 1.0`` is variant-only (a ``cu128`` wheel, nothing else).
"""

from __future__ import annotations

from pathlib import Path

import tomli_w

from helpers.wheels import build_wheel, variant_json
from varwheel.install.environment import current_environment
from varwheel.lock.targets import machine_of
from varwheel.providers.base import configs_to_properties
from varwheel.providers.native.nvidia import nvidia_supported

NVIDIA = {"nvidia": {"requires": ["nvidia-variant-provider>=0.0.1"]}}
LABELS = {
    "cu128": ["nvidia :: cuda_version_lower_bound :: 12.8", "nvidia :: sm_arch :: 90_real"],
    "cu130": ["nvidia :: cuda_version_lower_bound :: 13.0", "nvidia :: sm_arch :: 120_real"],
    "null": [],
}
REQUIRES = [
    "common-dep>=1",
    'gpulib-cu12-rt; variant_label == "cu128"',
    'gpulib-cu13-rt; variant_label == "cu130"',
    'gpulib-sm120-kernels; "nvidia :: sm_arch :: 120_real" in variant_properties',
    'gpulib-cpu-rt; "nvidia" not in variant_namespaces',
    'gpulib-extra; extra == "fast" and "nvidia" in variant_namespaces',
]
DEPS = (
    "common-dep",
    "gpulib-cu12-rt",
    "gpulib-cu13-rt",
    "gpulib-sm120-kernels",
    "gpulib-cpu-rt",
    "gpulib-extra",
)
# what each profile must get: the variant and the whole installed set
EXPECTED = {
    "cpu": ("null", {"gpulib", "common-dep", "gpulib-cpu-rt"}),
    "cuda128": ("cu128", {"gpulib", "common-dep", "gpulib-cu12-rt"}),
    "cuda130": ("cu130", {"gpulib", "common-dep", "gpulib-cu13-rt", "gpulib-sm120-kernels"}),
}


def build_project(dest: Path) -> list[Path]:
    paths = []
    for label, props in LABELS.items():
        doc = variant_json(label, props, providers=NVIDIA, namespace_priorities=["nvidia"])
        paths.append(build_wheel(dest, "gpulib", "1.0", variant=doc, requires_dist=REQUIRES))
    paths.append(build_wheel(dest, "gpulib", "1.0", requires_dist=REQUIRES))
    paths.append(build_wheel(dest, "gpulib", "0.9"))
    for dep in DEPS:
        paths.append(build_wheel(dest, dep, "1.0"))
    paths.append(build_wheel(dest, "common-dep", "0.5"))
    doc = variant_json("cu128", LABELS["cu128"], providers=NVIDIA, namespace_priorities=["nvidia"])
    paths.append(build_wheel(dest, "vonly", "1.0", variant=doc))
    return paths


def write_machine_profile(
    path: Path, *, cuda: tuple[int, int] | None, sm: tuple[int, int] | None
) -> Path:
    """A whole-machine profile (what ``varwheel detect --output`` writes): this interpreter's
    Python side, and the nvidia answer for a CUDA driver and SM (as the native provider gives)."""
    props = {}
    if cuda is not None:
        props["nvidia"] = {
            k: list(v) for k, v in configs_to_properties(nvidia_supported(cuda, sm)).items()
        }
    doc = {
        "profile": {"created-by": "tests", **machine_of(current_environment())},
        "properties": props,
    }
    path.write_text(tomli_w.dumps(doc))
    return path


def write_profiles(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "cpu": write_machine_profile(directory / "cpu.toml", cuda=None, sm=None),
        "cuda128": write_machine_profile(directory / "cuda128.toml", cuda=(12, 8), sm=(9, 0)),
        "cuda130": write_machine_profile(directory / "cuda130.toml", cuda=(13, 0), sm=(12, 0)),
    }
