"""Wheels of a local project directory for ``install PATH`` and ``install -e PATH``, through
pypa/build: a regular wheel (PEP 517 ``build_wheel``, from a copy of the tree, as
``varwheel build``) or an editable one (PEP 660 ``build_editable``, from the tree itself, whose
wheel points back at it). Wheels built from a local tree are plain wheels (PEP 817: hooks build
non-variant wheels by default).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from varwheel.build.errors import BuildFailed
from varwheel.build.frontend import build_wheel, load_project

__all__ = ["build_local_wheel"]


def build_local_wheel(src: Path, out_dir: Path, *, editable: bool, isolation: bool) -> Path:
    """The wheel of the project in ``src``, built into ``out_dir``. ``isolation``: the build
    requirements are installed in a fresh environment (pypa/build's default); without it this
    interpreter's packages are used. Raises ``InvalidInput`` (not a project), ``BuildFailed``."""
    if not editable:
        return build_wheel(src, out_dir, isolation=isolation)
    project = load_project(src)
    import build
    import build.env

    out_dir.mkdir(parents=True, exist_ok=True)
    log: list[str] = []

    def runner(cmd, cwd=None, extra_environ=None):  # type: ignore[no-untyped-def]
        import os

        done = subprocess.run(
            list(cmd),
            cwd=cwd,
            env={**os.environ, **(extra_environ or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        log.extend(done.stdout.decode("utf-8", "replace").splitlines())
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, cmd)

    path = project.path.absolute()
    try:
        if not isolation:
            builder = build.ProjectBuilder(path, python_executable=sys.executable, runner=runner)
            missing = builder.check_dependencies("editable")
            if missing:
                names = ", ".join(sorted(next(iter(chain)) for chain in missing))
                raise BuildFailed(
                    f"{path}: build requirements missing without isolation: {names} "
                    "(install them here, or drop --no-build-isolation)"
                )
            return Path(builder.build("editable", out_dir))
        with build.env.DefaultIsolatedEnv() as env:
            builder = build.ProjectBuilder.from_isolated_env(env, path, runner=runner)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("editable"))
            return Path(builder.build("editable", out_dir))
    except build.BuildBackendException as err:
        why = next((line.strip() for line in reversed(log) if line.strip()), str(err))
        if "HookMissing" in repr(getattr(err, "exception", None)):
            why = f"{why} (the backend {project.backend} may not support PEP 660 editables)"
        raise BuildFailed(f"{path}: editable build failed: {why}", log=tuple(log[-30:])) from err
    except (build.BuildException, subprocess.CalledProcessError) as err:
        raise BuildFailed(f"{path}: setting up the editable build failed: {err}") from err
