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
from typing import Any

from helpers.wheels import build_wheel, variant_json
from varwheel.index.client import IndexClient
from varwheel.install.environment import TargetEnvironment
from varwheel.providers.detect import ProviderOptions
from varwheel.providers.support import support_function
from varwheel.resolve.options import ResolveOptions
from varwheel.resolve.resolver import Session

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
    paths.append(build_wheel(dest, "vneeds", "1.0", requires_dist=["vonly>=1"]))
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


def write_variants_json(wheels: list[Path], dest: Path) -> list[Path]:
    """``{name}-{version}-variants.json`` for each project version among ``wheels``: the
    per-wheel ``variant.json`` documents merged (PEP 825 §"Index-level metadata")."""
    import zipfile

    from varwheel.spec.filenames import parse_wheel_filename, variants_json_filename
    from varwheel.spec.merge import merge_metadata
    from varwheel.spec.metadata import dump_json, load_variant_json

    docs: dict[tuple[str, str], list] = {}
    for path in wheels:
        wf = parse_wheel_filename(path.name)
        if wf.label is None:
            continue
        with zipfile.ZipFile(path) as zf:
            member = next(n for n in zf.namelist() if n.endswith(".dist-info/variant.json"))
            md = load_variant_json(zf.read(member), source=path.name)
        docs.setdefault((wf.project, str(wf.version)), []).append(md)
    out = []
    for (project, version), mds in sorted(docs.items()):
        target = dest / variants_json_filename(project, version)
        target.write_bytes(dump_json(merge_metadata(mds)))
        out.append(target)
    return out


def write_site(root: Path, *, variants_json: bool = True) -> Path:
    """Build the project and write it as a static index under ``root`` (``root/simple/``)."""
    from varwheel.index.static import write_static_index

    wheels = build_project(root / "wheels")
    extra = write_variants_json(wheels, root / "wheels") if variants_json else []
    return write_static_index([*wheels, *extra], root / "site")


def build_sdist(dest: Path, name: str, version: str, *, dependencies: list[str]) -> Path:
    """A real sdist (``{name}-{version}.tar.gz``) of a hatchling project."""
    import io
    import tarfile

    pkg = name.replace("-", "_")
    deps = ", ".join(f'"{d}"' for d in dependencies)
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\ndependencies = [{deps}]\n\n'
            f'[tool.hatch.build.targets.wheel]\npackages = ["{pkg}"]\n'
        ),
        f"{pkg}/__init__.py": f'__version__ = "{version}"\n',
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{pkg}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{pkg}-{version}/{rel}")
            info.size = len(data)
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return path


def profile_session(
    client: IndexClient,
    target: TargetEnvironment,
    profile: Path,
    *,
    build_dir: Path | None = None,
    **opts: Any,
) -> Session:
    """A resolve Session for ``target`` whose variant support comes from a provider profile;
    ``opts`` are ResolveOptions fields."""
    return Session(
        client,
        tags=target.tags,
        marker_env=target.marker_env,
        support_for=support_function(ProviderOptions(profile=profile), target.marker_env),
        options=ResolveOptions(**opts),
        build_dir=build_dir,
    )
