"""``varwheel build``: a PEP 517 frontend on pypa/build that builds plain and variant wheels.

Without a variant request it builds the plain wheel every frontend builds (PEP 817: hooks build
non-variant wheels by default). With one, the request is validated first (``build.request``), then:

- **post-tagging** (default, works with every backend): the backend builds a plain wheel with the
  variant's provider-informed settings (``build.settings``: ``CFLAGS``/``CXXFLAGS`` ... in the
  hook's environment, the backend's own config settings), then ``build.make_variant`` adds
  ``variant.json`` and the label;
- **native** (only when asked: ``native=True`` or ``[tool.varwheel.build] native = true``): the
  request goes to the backend as the ``variant``/``variant-label``/``null-variant`` config
  settings that scikit-build-core (experimental) and the meson-python fork read.

Either way the wheel is re-read with our own validator (RECORD, label <-> ``variant.json``,
the requested properties, declared namespaces) before it is kept. Everything happens in a temporary
directory; ``out_dir`` receives the finished wheel (copied in under a temporary name, then renamed)
or nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.build.errors import BuildFailed, InvalidBuildRequest, InvalidWheel, OutputNotWritten
from varwheel.build.make_variant import make_variant, read_wheel_variant
from varwheel.build.request import VariantRequest, resolve_request
from varwheel.build.settings import BuildSettings, ConfigValue, apply_env, settings_for
from varwheel.build.source_tree import copy_source, read_project_file
from varwheel.errors import InvalidInput
from varwheel.spec.metadata import load_pyproject
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.spec.validation import ABI_DEPENDENCY

if TYPE_CHECKING:
    from varwheel.build.matrix import BuildMatrix, MatrixEntry

__all__ = [
    "DEFAULT_BACKEND",
    "Project",
    "build_wheel",
    "check_built_wheel",
    "check_label_matches_matrix",
    "copy_source",
    "declared_label",
    "load_project",
    "plan_settings",
]

# PEP 517 §"Source trees": no build-backend key means setuptools' legacy backend.
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
LOG_TAIL = 30  # lines of the backend's output kept in a BuildFailed for the CLI's -v


@dataclass(frozen=True)
class Project:
    """The parts of a source tree's ``pyproject.toml`` a build needs."""

    path: Path  # the source directory
    document: Mapping[str, Any]  # the parsed pyproject.toml ({} without one)
    backend: str
    native: bool  # [tool.varwheel.build] native = true

    @property
    def pyproject(self) -> Path:
        return self.path / "pyproject.toml"

    def variant_metadata(self) -> VariantMetadata:
        if "variant" not in self.document:
            raise InvalidBuildRequest(
                f"{self.pyproject}: no [variant] table: a variant build needs the providers "
                "declared there (docs/build.md)"
            )
        return load_pyproject(self.document, source=str(self.pyproject))


def load_project(src: Path | str) -> Project:
    """Read ``src/pyproject.toml``; ``InvalidInput`` naming the file when it is malformed."""
    path = Path(src)
    if not path.is_dir():
        raise InvalidInput(f"{path}: not a source directory")
    pyproject = path / "pyproject.toml"
    document: Mapping[str, Any] = {}
    if os.path.lexists(pyproject):
        document = read_project_file(pyproject, project=path)
    elif not (path / "setup.py").is_file():
        raise InvalidInput(f"{path}: neither pyproject.toml nor setup.py: not a Python project")
    system = document.get("build-system", {})
    backend = system.get("build-backend") if isinstance(system, Mapping) else None
    tool = document.get("tool", {})
    table = tool.get("varwheel", {}) if isinstance(tool, Mapping) else {}
    build_table = table.get("build", {}) if isinstance(table, Mapping) else {}
    native = build_table.get("native", False) if isinstance(build_table, Mapping) else False
    if not isinstance(native, bool):
        raise InvalidInput(f"{pyproject}: tool.varwheel.build.native must be true or false")
    if backend is not None and not isinstance(backend, str):
        raise InvalidInput(f"{pyproject}: build-system.build-backend must be a string")
    return Project(path, document, backend or DEFAULT_BACKEND, native)


def declared_label(
    document: Mapping[str, Any], properties: Iterable[VariantProperty], *, source: str
) -> str | None:
    """The label ``[tool.varwheel.build]`` declares for exactly this property set, or None (no
    matrix, or no variant with these properties). A maintainer who builds one declared variant
    by its properties gets the label the release uses, not the hash label."""
    from varwheel.build.matrix import parse_matrix
    from varwheel.spec.properties import canonical_properties

    tool = document.get("tool")
    table = tool.get("varwheel") if isinstance(tool, Mapping) else None
    if not isinstance(table, Mapping) or "build" not in table:
        return None
    wanted = canonical_properties(properties)
    for entry in parse_matrix(document, source=source).variants:
        if entry.properties == wanted:
            return entry.label
    return None


def check_label_matches_matrix(
    document: Mapping[str, Any], properties: Iterable[VariantProperty], label: str, *, source: str
) -> None:
    """Refuse ``--label L`` for other properties than ``[tool.varwheel.build]`` declares under
    L (PEP 817: a label names exactly one property set; the release would carry both)."""
    from varwheel.build.matrix import parse_matrix
    from varwheel.spec.properties import canonical_properties

    tool = document.get("tool")
    table = tool.get("varwheel") if isinstance(tool, Mapping) else None
    if not isinstance(table, Mapping) or "build" not in table:
        return
    wanted = canonical_properties(properties)
    for entry in parse_matrix(document, source=source).variants:
        if entry.label == label and entry.properties != wanted:
            shown = ", ".join(map(str, entry.properties))
            raise InvalidBuildRequest(
                f"--label {label!r}: {source} declares it for [{shown}]; a label names one "
                "property set (PEP 817): pick another label or drop --label"
            )


def plan_settings(
    project: Project,
    request: VariantRequest | None,
    *,
    config_settings: Mapping[str, ConfigValue] | None = None,
    env: Mapping[str, str] | None = None,
    native: bool = False,
) -> BuildSettings:
    """What the backend gets for ``request``: provider settings, then the caller's overrides,
    then (native) the variant config settings."""
    overrides = BuildSettings(env=dict(env or {}), config_settings=dict(config_settings or {}))
    props = request.properties if request is not None else ()
    settings = settings_for(props, backend=project.backend.partition(":")[0], overrides=overrides)
    if native and request is not None:
        extra: dict[str, ConfigValue] = {}
        if request.is_null:
            # a bare -Cnull-variant is silently ignored, and scikit-build-core refuses a
            # variant-label next to it (build-publish.md)
            extra["null-variant"] = "true"
        else:
            extra["variant"] = tuple(str(p) for p in request.properties)
            extra["variant-label"] = request.label
        settings = settings.overridden_by(BuildSettings(config_settings=extra))
    return settings


# The backend processes running now (every thread's), so that Ctrl-C during ``build_all`` stops
# them instead of waiting minutes for compilers whose output nobody will keep.
_BACKENDS: set[subprocess.Popen[bytes]] = set()
_BACKENDS_LOCK = threading.Lock()


def _stop_backends() -> None:
    with _BACKENDS_LOCK:
        running = list(_BACKENDS)
    for proc in running:
        with contextlib.suppress(OSError):
            proc.kill()


def _runner(settings: BuildSettings, log: list[str]):
    def run(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = apply_env(settings, {**os.environ, **(extra_environ or {})})
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        with _BACKENDS_LOCK:
            _BACKENDS.add(proc)
        try:
            output, _ = proc.communicate()
        except BaseException:  # Ctrl-C in this thread: the backend goes too
            proc.kill()
            proc.wait()
            raise
        finally:
            with _BACKENDS_LOCK:
                _BACKENDS.discard(proc)
        log.extend(output.decode("utf-8", "replace").splitlines())
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd)

    return run


def _config_settings(settings: BuildSettings) -> dict[str, str | list[str]]:
    return {k: (v if isinstance(v, str) else list(v)) for k, v in settings.config_settings.items()}


def _failure(project: Project, what: str, log: Sequence[str]) -> BuildFailed:
    # The backend's own last words are usually the reason (a compiler error, a missing module).
    reason = next((line.strip() for line in reversed(log) if line.strip()), "no output")
    return BuildFailed(f"{project.path}: {what}: {reason}", log=tuple(log[-LOG_TAIL:]))


def _run_backend(
    project: Project,
    tree: Path,
    out: Path,
    settings: BuildSettings,
    *,
    isolation: bool,
    check_dependencies: bool = True,
) -> Path:
    """Run the backend on ``tree`` (a copy of ``project.path``; messages name the original)."""
    import build
    import build.env

    log: list[str] = []
    runner = _runner(settings, log)
    config = _config_settings(settings)
    try:
        if not isolation:
            builder = build.ProjectBuilder(tree, python_executable=sys.executable, runner=runner)
            missing = builder.check_dependencies("wheel", config) if check_dependencies else ()
            if missing:
                names = ", ".join(sorted(next(iter(chain)) for chain in missing))
                raise BuildFailed(
                    f"{project.path}: build requirements missing without isolation: {names}"
                )
            return Path(builder.build("wheel", out, config))
        with build.env.DefaultIsolatedEnv() as env:
            builder = build.ProjectBuilder.from_isolated_env(env, tree, runner=runner)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel", config))
            return Path(builder.build("wheel", out, config))
    except build.BuildBackendException as err:
        raise _failure(project, f"the build backend {project.backend} failed", log) from err
    except (build.BuildException, subprocess.CalledProcessError) as err:
        log.append(str(err).strip())
        raise _failure(project, "setting up the build failed", log) from err


def check_built_wheel(path: Path, request: VariantRequest | None, *, backend: str) -> None:
    """Refuse a wheel whose variant differs from the request (or a plain build with variant
    metadata): checks RECORD, label <-> ``variant.json``, properties and declared namespaces."""
    found = read_wheel_variant(path)
    if request is None:
        if found.label is not None or found.variant_json is not None:
            raise InvalidWheel(
                f"{path.name}: {backend} built a variant wheel although no variant was requested"
            )
        return
    if found.label is None:
        raise InvalidWheel(
            f"{path.name}: {backend} built a plain wheel for variant {request.label!r}: "
            "it does not build variants itself; drop the native build (post-tagging works "
            "with any backend)"
        )
    if found.label != request.label:
        raise InvalidWheel(
            f"{path.name}: labelled {found.label!r}, but variant {request.label!r} was requested"
        )
    assert found.metadata is not None
    if tuple(found.properties) != request.properties:
        got = ", ".join(map(str, found.properties)) or "none"
        raise InvalidWheel(
            f"{path.name}: variant.json gives {request.label!r} the properties [{got}], "
            f"not the requested ones"
        )
    # PEP 817 §"abi_dependency": the reserved namespace has no provider by design
    used = {p.namespace for p in found.properties} - {ABI_DEPENDENCY}
    undeclared = sorted(used - set(found.metadata.providers))
    if undeclared:
        raise InvalidWheel(
            f"{path.name}: namespace '{undeclared[0]}' has no provider in variant.json"
        )


def _publish(path: Path, out_dir: Path) -> Path:
    """Copy ``path`` into ``out_dir`` under a temporary name, then rename it into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputNotWritten.from_os_error(out_dir, path.name, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def build_wheel(
    src: Path | str,
    out_dir: Path | str,
    *,
    properties: Iterable[VariantProperty] = (),
    label: str | None = None,
    null_variant: bool = False,
    isolation: bool = True,
    config_settings: Mapping[str, ConfigValue] | None = None,
    env: Mapping[str, str] | None = None,
    native: bool | None = None,
    trusted: tuple[str, ...] = (),
    check_dependencies: bool = True,
) -> Path:
    """Build ``src`` into ``out_dir``; return the wheel's path.

    No ``properties`` and not ``null_variant``: a plain wheel (``label`` is then an error).
    ``label`` None: the label ``[tool.varwheel.build]`` declares for these properties, else the
    8-hex-digit hash label.
    ``config_settings``/``env``: the caller's (project's, user's) settings, which win over the
    provider-informed ones key by key. ``native``: None = the project's
    ``[tool.varwheel.build] native``. ``trusted``: ``--trust-provider`` pins for plugin providers.
    ``check_dependencies=False`` (pypa/build's ``--skip-dependency-check``, only without
    isolation): build even when this interpreter lacks a build requirement the backend names.
    Raises ``InvalidBuildRequest``/``InvalidLabel`` (bad request), ``BuildFailed`` (backend),
    ``InvalidWheel`` (the backend's wheel is wrong); ``out_dir`` is untouched on failure.
    """
    project = load_project(src)
    props = tuple(properties)
    request: VariantRequest | None = None
    if props and label is None and not null_variant:
        label = declared_label(project.document, props, source=str(project.pyproject))
    elif props and label is not None:
        check_label_matches_matrix(project.document, props, label, source=str(project.pyproject))
    if props or null_variant:
        request = resolve_request(
            project.variant_metadata(), props, label=label, null=null_variant, trusted=trusted
        )
    elif label is not None:
        raise InvalidBuildRequest(f"--label {label!r} without properties: nothing to label")
    use_native = project.native if native is None else native
    settings = plan_settings(
        project, request, config_settings=config_settings, env=env, native=use_native
    )
    with tempfile.TemporaryDirectory(prefix="varwheel-build-") as tmp:
        scratch = Path(tmp)
        tree = copy_source(project.path, scratch / "src")
        built = _run_backend(
            project,
            tree,
            scratch / "backend",
            settings,
            isolation=isolation,
            check_dependencies=check_dependencies,
        )
        if request is not None and not use_native:
            check_built_wheel(built, None, backend=project.backend)
            built = make_variant(
                built,
                request.properties,
                label=request.label,
                null=request.is_null,
                out_dir=scratch / "tagged",
                metadata=request.metadata,
            )
        check_built_wheel(built, request, backend=project.backend)
        return _publish(built, Path(out_dir))


@dataclass(frozen=True)
class BuildResult:
    """One wheel of ``build_all``: where it went (None on failure), how long it took, or why it
    failed."""

    entry: MatrixEntry
    path: Path | None
    seconds: float
    error: Exception | None = None


def build_all(
    src: Path | str,
    out_dir: Path | str,
    matrix: BuildMatrix,
    *,
    isolation: bool = True,
    jobs: int | None = None,
    config_settings: Mapping[str, ConfigValue] | None = None,
    native: bool | None = None,
    trusted: tuple[str, ...] = (),
    check_dependencies: bool = True,
    on_done: Callable[[BuildResult], None] | None = None,  # called from worker threads
) -> tuple[BuildResult, ...]:
    """Build every entry of ``matrix`` in parallel (``jobs`` workers, default the CPU count),
    all or nothing: the wheels reach ``out_dir`` only when every build succeeded. Results are
    in matrix order; ``config_settings`` (the command line's ``-C``) win over the matrix's."""
    import time

    from varwheel.build.matrix import BuildKind

    entries = tuple(matrix.entries)
    workers = max(1, min(len(entries), jobs or os.cpu_count() or 1))

    interrupted = threading.Event()

    def one(entry: MatrixEntry, staging: Path) -> BuildResult:
        start = time.perf_counter()
        try:
            path = build_wheel(
                src,
                staging / entry.name,
                properties=entry.properties,
                label=entry.label if entry.kind is BuildKind.VARIANT else None,
                null_variant=entry.kind is BuildKind.NULL,
                isolation=isolation,
                config_settings={**entry.config_settings, **(config_settings or {})},
                env=entry.env,
                native=native,
                trusted=trusted,
                check_dependencies=check_dependencies,
            )
            result = BuildResult(entry, path, time.perf_counter() - start)
        except Exception as err:  # reported per entry; the whole set then fails
            result = BuildResult(entry, None, time.perf_counter() - start, err)
        if on_done is not None and not interrupted.is_set():
            on_done(result)
        return result

    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _build_all_into(out, matrix, entries, workers, one, interrupted)
    finally:  # a failed or interrupted set leaves no trace, not even the directory
        if created and not any(out.iterdir()):
            with contextlib.suppress(OSError):
                out.rmdir()


def _build_all_into(
    out: Path,
    matrix: BuildMatrix,
    entries: tuple[MatrixEntry, ...],
    workers: int,
    one: Callable[[MatrixEntry, Path], BuildResult],
    interrupted: threading.Event,
) -> tuple[BuildResult, ...]:
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(prefix=".varwheel-all-", dir=out) as tmp:
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            results = list(pool.map(lambda e: one(e, Path(tmp)), entries))
        except BaseException:  # Ctrl-C: drop the queued builds, kill the running backends
            interrupted.set()
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_backends()
            pool.shutdown(wait=True)
            raise
        pool.shutdown()
        if any(r.error is not None for r in results):
            return tuple(results)
        names = [r.path.name for r in results if r.path is not None]
        if len(set(names)) != len(names):
            raise InvalidWheel(f"two entries of {matrix.source} build the same wheel file name")
        published = []
        for r in results:
            assert r.path is not None
            target = out / r.path.name
            os.replace(r.path, target)  # same file system: staged inside out_dir
            published.append(BuildResult(r.entry, target, r.seconds))
        return tuple(published)
