"""varwheel as a library, producer side: build wheels and variants, tag and repair them, show
the declared build matrix, lint a release or project.

::

    from varwheel.api.build import build, check

    wheel = build("path/to/project", properties=["x86_64 :: level :: v3"])
    print(wheel.path, wheel.label)
    result = check(["dist/"])
    for finding in result.findings:
        print(finding.severity.value, finding.code, finding.message)

Every function validates its input (property texts, ``KEY=VALUE`` config settings, trusted
provider pins after the user config's ``trusted-providers``, labels against the declared
matrix) and returns a frozen value; nothing prints. Warnings and notes (a build backend's
warnings, the label taken from ``[tool.varwheel.build]``) go to the ``Reporter`` given. Errors
are the specific :mod:`varwheel.errors` classes carrying one user-facing line.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.errors import InvalidInput, InvalidProperty
from varwheel.reporter import Reporter

if TYPE_CHECKING:
    from varwheel.build.check import Finding, Severity
    from varwheel.build.coverage import CoverageReport, MachineCoverage, Outcome
    from varwheel.build.frontend import BuildResult, Project
    from varwheel.build.matrix import BuildKind, BuildMatrix, MatrixEntry
    from varwheel.build.repair import RepairResult
    from varwheel.spec.properties import VariantProperty

__all__ = [
    "BuildKind",
    "BuildMatrix",
    "BuildProgress",
    "BuildResult",
    "BuiltWheel",
    "CheckResult",
    "CoverageReport",
    "Finding",
    "MachineCoverage",
    "MatrixBuild",
    "MatrixEntry",
    "MatrixPlan",
    "Outcome",
    "RepairResult",
    "SettingsPreview",
    "Severity",
    "build",
    "build_matrix",
    "check",
    "cibuildwheel_lines",
    "github_matrix",
    "make_variant",
    "matrix_coverage",
    "matrix_json",
    "parse_config_settings",
    "parse_properties",
    "plan_matrix",
    "preview_settings",
    "repair",
    "trusted_pins",
    "unmake_variant",
]

# Types of the build layer that results carry, imported on first use (``import
# varwheel.api.build`` stays cheap for ``varwheel check`` of an environment).
_REEXPORTED = {
    "BuildKind": "varwheel.build.matrix",
    "BuildMatrix": "varwheel.build.matrix",
    "MatrixEntry": "varwheel.build.matrix",
    "BuildResult": "varwheel.build.frontend",
    "CoverageReport": "varwheel.build.coverage",
    "MachineCoverage": "varwheel.build.coverage",
    "Outcome": "varwheel.build.coverage",
    "Finding": "varwheel.build.check",
    "Severity": "varwheel.build.check",
    "RepairResult": "varwheel.build.repair",
}


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        import importlib

        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ConfigSettings = Mapping[str, "str | tuple[str, ...]"]

# --------------------------------------------------------------------------- inputs


def parse_properties(texts: Iterable[str | VariantProperty]) -> tuple[VariantProperty, ...]:
    """``namespace :: feature :: value`` texts (``-p``) as properties; a bad one raises
    :class:`InvalidProperty` naming it. Properties given as objects pass through."""
    from varwheel.spec.properties import VariantProperty

    out = []
    for text in texts:
        if isinstance(text, VariantProperty):
            out.append(text)
            continue
        try:
            out.append(VariantProperty.parse(text))
        except InvalidProperty as err:
            raise InvalidProperty(f"-p {text!r}: {err}") from None
    return tuple(out)


def parse_config_settings(
    texts: Iterable[str] | ConfigSettings,
) -> dict[str, str | tuple[str, ...]]:
    """``-C key=value`` items; a key given twice becomes a list (pypa/build's convention). A
    mapping is taken as it is."""
    if isinstance(texts, Mapping):
        return dict(texts)
    settings: dict[str, str | tuple[str, ...]] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise InvalidInput(f"-C {text!r}: expected KEY=VALUE")
        if key in settings:
            old = settings[key]
            settings[key] = (*((old,) if isinstance(old, str) else old), value)
        else:
            settings[key] = value
    return settings


def trusted_pins(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The ``NAME==VERSION`` plugin pins a build may run: the user config's
    ``trusted-providers``, then ``extra`` (``--trust-provider``), as install reads them. A bad
    pin raises :class:`InvalidInput` naming the flag or the file."""
    from varwheel.config import load_config
    from varwheel.providers.trust import parse_pins

    pins = (*load_config().trusted_providers, *extra)
    parse_pins(pins)
    return tuple(pins)


@contextlib.contextmanager
def _backend_warnings(reporter: Reporter) -> Iterator[None]:
    """A build backend's warnings (pyproject_hooks re-raises them as ``BuildBackendWarning``)
    become one reporter warning each, on one line; the reporter drops repeats."""
    original = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, *rest: Any) -> None:
        if category.__name__ != "BuildBackendWarning":
            original(message, category, filename, lineno, *rest)
            return
        reporter.warning("build backend: " + " ".join(str(message).split()))

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _declared_label(
    document: Mapping[str, Any],
    props: tuple[VariantProperty, ...],
    source: str,
    reporter: Reporter,
) -> str | None:
    """The matrix's label for ``props`` (a note says so), so that properties alone build the
    declared wheel rather than the hash-labelled one."""
    from varwheel.build.frontend import declared_label

    label = declared_label(document, props, source=source)
    if label is not None:
        reporter.note(f"label {label!r}: declared for these properties in {source}")
    return label


def _label_for(
    src: Path, props: tuple[VariantProperty, ...], label: str | None, null: bool, r: Reporter
) -> str | None:
    if props and label is None and not null:
        from varwheel.build.frontend import load_project

        project = load_project(src)
        return _declared_label(project.document, props, str(project.pyproject), r)
    return label


def _refuse_request_with_all(
    props: tuple[VariantProperty, ...], label: str | None, null_variant: bool
) -> None:
    if props or label or null_variant:
        raise InvalidInput("--all builds the declared set: drop -p, --label, --null-variant")


def _declared(src: Path) -> tuple[Project, BuildMatrix]:
    from varwheel.build.frontend import load_project
    from varwheel.build.matrix import load_matrix

    project = load_project(src)
    matrix = load_matrix(project.document, source=str(project.pyproject))
    if not matrix.entries:
        raise InvalidInput(f"{project.pyproject}: [tool.varwheel.build] declares no wheel")
    return project, matrix


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel written by :func:`build` or :func:`make_variant`: its path, its variant label
    (None for a non-variant wheel), and how long it took."""

    path: Path
    label: str | None
    seconds: float = 0.0


def _built(path: Path, seconds: float = 0.0) -> BuiltWheel:
    from varwheel.spec.filenames import parse_wheel_filename

    return BuiltWheel(path, parse_wheel_filename(path.name).label, seconds)


def build(
    src: str | os.PathLike[str] = ".",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    properties: Iterable[str | VariantProperty] = (),
    label: str | None = None,
    null_variant: bool = False,
    isolation: bool = True,
    config_settings: Iterable[str] | ConfigSettings = (),
    native: bool | None = None,
    trusted: Iterable[str] = (),
    check_dependencies: bool = True,
    reporter: Reporter | None = None,
) -> BuiltWheel:
    """Build one wheel of the source tree ``src`` with its PEP 517 backend into ``out_dir``
    (default ``src/dist``): the plain wheel, or with ``properties``/``null_variant`` the variant,
    validated against ``[variant]`` and the providers and compiled with their settings. Without
    ``label``, properties that ``[tool.varwheel.build]`` declares get the declared label (a
    note says so), others the 8-hex-digit hash label. ``trusted`` pins add to the user config's.

    Raises ``InvalidBuildRequest``/``InvalidWheel`` (bad request, wrong wheel) or
    ``BuildFailed`` (the backend failed; ``.log`` holds its output)."""
    from varwheel.build import frontend

    reporter = reporter if reporter is not None else Reporter()
    source = Path(src)
    out = Path(out_dir) if out_dir is not None else source / "dist"
    with _backend_warnings(reporter):
        props = parse_properties(properties)
        config = parse_config_settings(config_settings)
        label = _label_for(source, props, label, null_variant, reporter)
        start = time.perf_counter()
        path = frontend.build_wheel(
            source,
            out,
            properties=props,
            label=label,
            null_variant=null_variant,
            isolation=isolation,
            config_settings=config,
            native=native,
            trusted=trusted_pins(trusted),
            check_dependencies=check_dependencies,
        )
        return _built(path, time.perf_counter() - start)


@dataclass(frozen=True)
class BuildProgress:
    """Where :func:`build_matrix` stands: ``finished`` of ``total`` builds are done;
    ``result`` is the one that just ended (None for the first event, before any build)."""

    finished: int
    total: int
    result: BuildResult | None = None


@dataclass(frozen=True)
class MatrixBuild:
    """Every wheel :func:`build_matrix` built, in matrix order. All or nothing: when any
    failed (``failed``), nothing reached ``out_dir``."""

    out_dir: Path
    results: tuple[BuildResult, ...]

    @property
    def failed(self) -> tuple[BuildResult, ...]:
        return tuple(r for r in self.results if r.error is not None)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(r.path for r in self.results if r.path is not None)


def build_matrix(
    src: str | os.PathLike[str] = ".",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    properties: Iterable[str | VariantProperty] = (),
    label: str | None = None,
    null_variant: bool = False,
    isolation: bool = True,
    jobs: int | None = None,
    config_settings: Iterable[str] | ConfigSettings = (),
    native: bool | None = None,
    trusted: Iterable[str] = (),
    check_dependencies: bool = True,
    on_progress: Callable[[BuildProgress], None] | None = None,
    reporter: Reporter | None = None,
) -> MatrixBuild:
    """Build every wheel ``[tool.varwheel.build]`` declares, ``jobs`` at a time (default: the
    CPU count). ``on_progress`` is called once before the builds start and (from worker
    threads, one at a time) as each build ends. A failed build
    is in the result, not raised; nothing reaches ``out_dir`` then. ``properties``, ``label``
    and ``null_variant`` are refused (the matrix names each wheel); ``config_settings`` win
    over the matrix's."""
    from varwheel.build import frontend

    reporter = reporter if reporter is not None else Reporter()
    source = Path(src)
    out = Path(out_dir) if out_dir is not None else source / "dist"
    with _backend_warnings(reporter):
        props = parse_properties(properties)
        config = parse_config_settings(config_settings)
        _refuse_request_with_all(props, label, null_variant)
        _, matrix = _declared(source)
        trusted = trusted_pins(trusted)
        total = len(matrix.entries)
        finished = [0]
        lock = threading.Lock()

        def done(result: BuildResult) -> None:
            with lock:
                finished[0] += 1
                if on_progress is not None:
                    on_progress(BuildProgress(finished[0], total, result))

        if on_progress is not None:
            on_progress(BuildProgress(0, total))
        results = frontend.build_all(
            source,
            out,
            matrix,
            isolation=isolation,
            jobs=jobs or os.cpu_count() or 1,
            config_settings=config,
            native=native,
            trusted=trusted,
            check_dependencies=check_dependencies,
            on_done=done,
        )
    return MatrixBuild(out, results)


@dataclass(frozen=True)
class SettingsPreview:
    """What the backend would get for one wheel: ``name`` (its label, or ``non-variant``),
    the backend, whether the variant is tagged natively, and the environment and config
    settings as ``NAME=value`` / ``-Ckey=value`` lines."""

    name: str
    backend: str
    native: bool
    lines: tuple[str, ...]


def _preview(
    project: Project,
    props: tuple[VariantProperty, ...],
    label: str | None,
    null: bool,
    config: ConfigSettings,
    env: Mapping[str, str],
    native: bool | None,
    trusted: Iterable[str],
) -> SettingsPreview:
    from varwheel.build import frontend
    from varwheel.build.request import resolve_request

    request = None
    if props or null:
        request = resolve_request(
            project.variant_metadata(), props, label=label, null=null, trusted=trusted_pins(trusted)
        )
    native = project.native if native is None else native
    settings = frontend.plan_settings(
        project, request, config_settings=config, env=env, native=native
    )
    name = request.label if request is not None else "non-variant"
    return SettingsPreview(
        name, project.backend, bool(native and request is not None), tuple(settings.as_lines())
    )


def preview_settings(
    src: str | os.PathLike[str] = ".",
    *,
    properties: Iterable[str | VariantProperty] = (),
    label: str | None = None,
    null_variant: bool = False,
    declared: bool = False,
    config_settings: Iterable[str] | ConfigSettings = (),
    native: bool | None = None,
    trusted: Iterable[str] = (),
    reporter: Reporter | None = None,
) -> tuple[SettingsPreview, ...]:
    """The settings :func:`build` (or, with ``declared``, :func:`build_matrix`: one preview per
    declared wheel, the matrix's own settings under ``config_settings``) would hand the
    backend; nothing is built."""
    from varwheel.build.frontend import load_project
    from varwheel.build.matrix import BuildKind

    reporter = reporter if reporter is not None else Reporter()
    source = Path(src)
    props = parse_properties(properties)
    config = parse_config_settings(config_settings)
    trusted = tuple(trusted)
    if declared:
        _refuse_request_with_all(props, label, null_variant)
        project, matrix = _declared(source)
        return tuple(
            _preview(
                project,
                entry.properties,
                entry.label if entry.kind is BuildKind.VARIANT else None,
                entry.kind is BuildKind.NULL,
                {**entry.config_settings, **config},
                entry.env,
                native,
                trusted,
            )
            for entry in matrix.entries
        )
    label = _label_for(source, props, label, null_variant, reporter)
    project = load_project(source)
    return (_preview(project, props, label, null_variant, config, {}, native, trusted),)


# --------------------------------------------------------------------------- make-variant


def _project_file(path: Path) -> Mapping[str, Any]:
    from varwheel.build.source_tree import read_project_file

    if not path.is_file():
        raise InvalidInput(
            f"{path}: no such file; pass the project's pyproject.toml with --pyproject"
        )
    return read_project_file(path)


def _same_project(document: Mapping[str, Any], pyproject: Path, wheel: Path) -> None:
    """A wheel tagged with another project's [variant] table (make-variant run in the wrong
    directory) would name that project's providers: refused when [project] names another."""
    from packaging.utils import canonicalize_name

    from varwheel.spec.filenames import parse_wheel_filename

    table = document.get("project")
    name = table.get("name") if isinstance(table, dict) else None
    if not isinstance(name, str):
        return  # a dynamic or missing name: nothing to compare
    project = parse_wheel_filename(wheel.name).project
    if canonicalize_name(name) != project:
        raise InvalidInput(
            f"{wheel.name}: a wheel of {project!r}, but {pyproject} is project {name!r}; "
            "pass that project's pyproject.toml with --pyproject"
        )


def make_variant(
    wheel: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    pyproject: str | os.PathLike[str] = "pyproject.toml",
    properties: Iterable[str | VariantProperty] = (),
    label: str | None = None,
    null_variant: bool = False,
    trusted: Iterable[str] = (),
    validate: bool = True,
    reporter: Reporter | None = None,
) -> BuiltWheel:
    """Write the plain ``wheel`` as a variant wheel into ``out_dir``: ``variant.json`` from the
    ``[variant]`` table of ``pyproject`` (which must be the wheel's project), RECORD rewritten,
    the label appended to the name; reproducible. Properties are checked against ``[variant]``
    and (unless ``validate`` is false) the providers; a ``label`` must match the one
    ``[tool.varwheel.build]`` declares for them, and defaults to it (a note says so)."""
    from varwheel.build import make_variant as tagging
    from varwheel.build.frontend import check_label_matches_matrix
    from varwheel.build.request import resolve_request
    from varwheel.spec.metadata import load_pyproject

    reporter = reporter if reporter is not None else Reporter()
    wheel, pyproject = Path(wheel), Path(pyproject)
    props = parse_properties(properties)
    document = _project_file(pyproject)
    _same_project(document, pyproject, wheel)
    if props and label is None and not null_variant:
        label = _declared_label(document, props, str(pyproject), reporter)
    elif props and label is not None:
        check_label_matches_matrix(document, props, label, source=str(pyproject))
    request = resolve_request(
        load_pyproject(document, source=str(pyproject)),
        props,
        label=label,
        null=null_variant,
        trusted=trusted_pins(trusted),
        validate=validate,
    )
    path = tagging.make_variant(
        wheel,
        request.properties,
        label=request.label,
        null=request.is_null,
        out_dir=Path(out_dir),
        metadata=request.metadata,
    )
    return _built(path)


def unmake_variant(wheel: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> BuiltWheel:
    """Write the variant ``wheel`` without its label and ``variant.json`` into ``out_dir``."""
    from varwheel.build import make_variant as tagging

    return _built(tagging.unmake_variant(Path(wheel), Path(out_dir)))


def repair(
    wheel: str | os.PathLike[str],
    command: Sequence[str],
    out_dir: str | os.PathLike[str] = "wheelhouse",
) -> tuple[RepairResult, ...]:
    """Run a wheel repair tool (auditwheel, delocate-wheel, delvewheel, ...) on the variant
    ``wheel``: the label is stripped for the tool and put back on every wheel it wrote, and
    ``variant.json`` restored where the tool dropped it (``restored``). Raises ``InvalidWheel``
    for a wheel that is not a variant, ``BuildFailed`` when the tool fails."""
    from varwheel.build.repair import repair_wheel

    return repair_wheel(Path(wheel), list(command), out_dir=Path(out_dir))


# --------------------------------------------------------------------------- matrix


@dataclass(frozen=True)
class MatrixPlan:
    """The declared build matrix of ``project`` (as given: a directory or its
    ``pyproject.toml``), with the ``entries`` asked for."""

    project: str
    matrix: BuildMatrix
    entries: tuple[MatrixEntry, ...]

    @property
    def source(self) -> str:
        """The ``pyproject.toml`` the matrix was read from."""
        return self.matrix.source

    def settings_lines(self, entry: MatrixEntry) -> tuple[str, ...]:
        """The environment and config settings ``entry``'s build gets, one line each."""
        return tuple(self.matrix.settings(entry).as_lines())


def _load_matrix(project: str | os.PathLike[str]) -> tuple[Mapping[str, Any], BuildMatrix]:
    from varwheel.build.matrix import load_matrix, pyproject_path, read_pyproject

    file = pyproject_path(project)
    document = read_pyproject(file)
    return document, load_matrix(document, source=str(file))


def plan_matrix(project: str | os.PathLike[str] = ".", *, entry: str | None = None) -> MatrixPlan:
    """Read ``[tool.varwheel.build]`` of ``project``; ``entry`` (a label, ``null`` or
    ``non-variant``) keeps that entry only."""
    _, matrix = _load_matrix(project)
    entries = (matrix.entry(entry),) if entry else tuple(matrix.entries)
    return MatrixPlan(os.fspath(project), matrix, entries)


def matrix_json(plan: MatrixPlan, out_dir: str = "dist") -> dict[str, Any]:
    """The matrix as JSON values: each entry's settings and its ``varwheel build`` line."""
    from varwheel.build import ci

    return ci.matrix_json(plan.matrix, plan.entries, plan.project, out_dir)


def github_matrix(plan: MatrixPlan, out_dir: str = "dist") -> str:
    """A GitHub Actions ``strategy.matrix`` (``{"include": [...]}`` for ``fromJSON``), one job
    per entry; refused beyond GitHub's limits (256 jobs, 1 MB)."""
    from varwheel.build import ci

    return ci.github_matrix(plan.matrix, plan.entries, plan.project, out_dir)


def cibuildwheel_lines(plan: MatrixPlan) -> list[str]:
    """``CIBW_CONFIG_SETTINGS=`` / ``CIBW_ENVIRONMENT=`` lines per entry ($GITHUB_ENV syntax)."""
    from varwheel.build import ci

    return ci.cibuildwheel_lines(plan.matrix, plan.entries)


def matrix_coverage(
    project: str | os.PathLike[str] = ".",
    machines: Sequence[str] = (),
    *,
    enabled_optional: Iterable[str] = (),
) -> CoverageReport:
    """Which declared variant each machine gets: ``machines`` are profile files (``varwheel
    detect --output``), shipped machine names or globs, or ``shipped`` (none: every shipped
    machine); ``enabled_optional`` counts those optional providers as enabled."""
    from varwheel.build.coverage import coverage, resolve_machines
    from varwheel.build.matrix import project_metadata
    from varwheel.spec.model import VariantMetadata

    document, matrix = _load_matrix(project)
    md = project_metadata(document, source=matrix.source) if matrix.variants else None
    found = resolve_machines(list(machines))
    return coverage(
        matrix, md or VariantMetadata(()), found, enabled_optional=list(enabled_optional)
    )


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found, in order; ``passed`` is false on an error (on a warning
    too with ``strict``)."""

    findings: tuple[Finding, ...]
    errors: int
    warnings: int
    passed: bool


def check(paths: Iterable[str | os.PathLike[str]], *, strict: bool = False) -> CheckResult:
    """Lint built wheels and ``*-variants.json`` files (files or directories such as
    ``dist/``) or a project (its ``pyproject.toml`` or directory: ``[variant]`` and
    ``[tool.varwheel.build]``) for problems installers would trip over (docs/build-matrix.md).
    Raises :class:`InvalidInput` for unreadable input."""
    from varwheel.build.check import Severity, check_paths

    findings = check_paths([Path(p) for p in paths])
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warns = len(findings) - errors
    return CheckResult(findings, errors, warns, not (errors or (strict and warns)))
