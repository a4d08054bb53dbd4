"""Build an sdist into a (non-variant) wheel with pypa/build in an isolated environment.

PEP 817 §"Source distributions": there are no sdist variants; the PEP 517 default build gives
a non-variant wheel, whose variant markers then evaluate as for any non-variant wheel.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

from varwheel.errors import InstallError, InvalidInput


def _unpack(archive: Path, dest: Path) -> Path:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    roots = [p for p in dest.iterdir() if p.is_dir()]
    if len(roots) != 1 or (
        not (roots[0] / "pyproject.toml").exists() and not (roots[0] / "setup.py").exists()
    ):
        raise InvalidInput(f"{archive.name}: not a source distribution with a single project root")
    return roots[0]


def build_wheel_from_sdist(archive: Path, output_dir: Path, *, isolated: bool = True) -> Path:
    """Build ``archive`` into a wheel; return its path.

    ``isolated``: in a fresh venv with the build requirements installed by pip (pypa/build's
    default); otherwise with this interpreter, whose packages must satisfy them (pip's
    ``--no-build-isolation``).
    """
    import sys

    import build
    import build.env

    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="varwheel-sdist-") as tmp:
        source = _unpack(archive, Path(tmp))
        try:
            if not isolated:
                builder = build.ProjectBuilder(source, python_executable=sys.executable)
                missing = builder.check_dependencies("wheel")
                if missing:
                    names = ", ".join(sorted(next(iter(chain)) for chain in missing))
                    raise InstallError(
                        f"{archive.name}: build requirements missing without isolation: {names}"
                    )
                return Path(builder.build("wheel", output_dir))
            with build.env.DefaultIsolatedEnv() as env:
                builder = build.ProjectBuilder.from_isolated_env(env, source)
                env.install(builder.build_system_requires)
                env.install(builder.get_requires_for_build("wheel"))
                return Path(builder.build("wheel", output_dir))
        except (
            build.BuildException,
            build.BuildBackendException,
            subprocess.CalledProcessError,
        ) as err:
            text = str(err).strip()
            first = text.splitlines()[0] if text else type(err).__name__
            raise InstallError(
                f"{archive.name}: building a wheel from source failed: {first}"
            ) from err
