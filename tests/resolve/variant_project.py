"""A small variant project built as real wheels, shared by the resolver and CLI tests.

``vdemo 1.0`` has three wheels: ``cu12`` (nvidia :: cuda_version_lower_bound :: 12.0), ``null``
and a non-variant wheel. All share one METADATA whose variant markers pull different
dependencies per variant (PEP 825 §"Environment markers"):

- ``vdemo-cuda-rt`` when the chosen wheel has the (supported) nvidia cuda feature;
- ``vdemo-cpu-rt`` when it has no nvidia namespace (null and non-variant wheels);
- ``vdemo-label-dep`` only for the non-variant wheel (``variant_label == ""``).

``vdemo 0.9`` is a plain wheel, ``vdemo-cuda-rt``/``vdemo-cpu-rt``/``vdemo-label-dep`` plain
dependencies, and ``vonly 1.0`` a variant-only project (cu12 wheel, no null, no plain wheel).
"""

from __future__ import annotations

from pathlib import Path

from helpers.wheels import build_wheel, variant_json

NVIDIA_PROVIDER = {"nvidia": {"requires": ["nvidia-variant-provider>=0.0.1"]}}
CU12 = ["nvidia :: cuda_version_lower_bound :: 12.0"]
REQUIRES = [
    'vdemo-cuda-rt>=1; "nvidia :: cuda_version_lower_bound" in variant_features',
    'vdemo-cpu-rt; "nvidia" not in variant_namespaces',
    'vdemo-label-dep; variant_label == ""',
    'vdemo-extra-dep; extra == "fast"',
]


def build_project(dest: Path) -> list[Path]:
    """Write every wheel into ``dest`` and return their paths."""
    paths = []
    for label, props in (("cu12", CU12), ("null", [])):
        doc = variant_json(label, props, providers=NVIDIA_PROVIDER, namespace_priorities=["nvidia"])
        paths.append(build_wheel(dest, "vdemo", "1.0", variant=doc, requires_dist=REQUIRES))
    paths.append(build_wheel(dest, "vdemo", "1.0", requires_dist=REQUIRES))
    paths.append(build_wheel(dest, "vdemo", "0.9"))
    for dep in ("vdemo-cuda-rt", "vdemo-cpu-rt", "vdemo-label-dep", "vdemo-extra-dep"):
        paths.append(build_wheel(dest, dep, "1.0"))
    doc = variant_json("cu12", CU12, providers=NVIDIA_PROVIDER, namespace_priorities=["nvidia"])
    paths.append(build_wheel(dest, "vonly", "1.0", variant=doc))
    return paths


def write_profile(path: Path, *, cuda: list[str] | None) -> Path:
    """A target profile (providers/profile.py format): with ``cuda`` values, or no GPU."""
    lines = ["[profile]", 'created-by = "tests"']
    if cuda is not None:
        values = ", ".join(f'"{v}"' for v in cuda)
        lines += ["[properties.nvidia]", f"cuda_version_lower_bound = [{values}]"]
    else:
        lines += ["[properties]"]
    path.write_text("\n".join(lines) + "\n")
    return path
