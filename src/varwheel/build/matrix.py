"""The declared build matrix: ``[tool.varwheel.build]`` in pyproject.toml (docs/build-matrix.md).

::

    [tool.varwheel.build]
    null-variant = true             # ship a ``-null`` wheel (default false)
    non-variant = true              # ship a plain wheel, the fallback old installers need (default)
    native = false                  # reserved: let a variant-aware backend tag the wheels itself
    config-settings = {}            # PEP 517 settings for every build (a list = repeated key)
    env = {}                        # environment for every build

    [[tool.varwheel.build.variants]]
    label = "x8664v3"               # optional; default: variantlib's 8-hex-digit hash label
    properties = ["x86_64 :: level :: v3"]
    config-settings = {"cmake.define.FAST" = "ON"}
    env = {CFLAGS = "-O3"}

One :class:`MatrixEntry` per wheel to build: the variants in declaration order, then the null
variant, then the plain wheel. Settings merge key by key: provider-informed settings
(:func:`varwheel.build.settings.settings_for`), then the table's, then the variant's own.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from varwheel.build.request import MAX_LABEL_LENGTH  # PEP 817's cap, kept for its readers
from varwheel.errors import InvalidBuildConfig, InvalidInput, InvalidMetadata
from varwheel.providers.base import FeatureConfig
from varwheel.spec.metadata import load_pyproject
from varwheel.spec.model import ProviderInfo, SchemaGeneration, VariantMetadata
from varwheel.spec.properties import (
    NULL_LABEL,
    VariantProperty,
    canonical_properties,
    default_label,
    group_by_feature,
    validate_label,
)

__all__ = [
    "MAX_LABEL_LENGTH",
    "TABLE",
    "BuildKind",
    "BuildMatrix",
    "MatrixEntry",
    "Problem",
    "load_matrix",
    "parse_matrix",
    "project_metadata",
    "property_problems",
    "provider_configs",
    "pyproject_path",
    "read_pyproject",
]

TABLE = "tool.varwheel.build"
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# PEP 817 §"abi_dependency": a reserved namespace with no provider entry.
ABI_DEPENDENCY = "abi_dependency"

_TOP_KEYS = ("variants", "null-variant", "non-variant", "native", "config-settings", "env")
_VARIANT_KEYS = ("label", "properties", "config-settings", "env")

ConfigValue = str | tuple[str, ...]


class BuildKind(enum.Enum):
    """The three kinds of wheel a build matrix declares."""

    VARIANT = "variant"  # labelled wheel with properties
    NULL = "null"  # labelled ``null``, no properties
    PLAIN = "non-variant"  # no label, no variant.json


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class MatrixEntry:
    """One wheel of the declared set. ``label`` is None for the plain wheel and ``null`` for the
    null variant; ``config_settings``/``env`` are the project's own (table + variant), without
    the provider-informed settings (see :meth:`BuildMatrix.settings`)."""

    kind: BuildKind
    label: str | None
    properties: tuple[VariantProperty, ...] = ()
    config_settings: Mapping[str, ConfigValue] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "config_settings", _frozen(self.config_settings))
        object.__setattr__(self, "env", _frozen(self.env))

    @property
    def name(self) -> str:
        """The entry's name in tables and CI job names: the label, or ``non-variant``."""
        return self.label if self.label is not None else BuildKind.PLAIN.value


@dataclass(frozen=True)
class BuildMatrix:
    """The declared wheel set of ``[tool.varwheel.build]`` (``source``: the file it came from)."""

    entries: tuple[MatrixEntry, ...]
    source: str
    native: bool = False
    build_backend: str | None = None  # ``[build-system] build-backend``, for settings_for

    @property
    def variants(self) -> tuple[MatrixEntry, ...]:
        return tuple(e for e in self.entries if e.kind is BuildKind.VARIANT)

    @property
    def ships_null(self) -> bool:
        return any(e.kind is BuildKind.NULL for e in self.entries)

    @property
    def ships_plain(self) -> bool:
        return any(e.kind is BuildKind.PLAIN for e in self.entries)

    def entry(self, name: str) -> MatrixEntry:
        """The entry with this label (``non-variant`` for the plain wheel)."""
        for e in self.entries:
            if e.name == name:
                return e
        known = ", ".join(e.name for e in self.entries)
        raise InvalidBuildConfig(
            f"no entry {name!r} in the build matrix (entries: {known})", source=self.source
        )

    def settings(self, entry: MatrixEntry) -> Any:
        """The full :class:`varwheel.build.settings.BuildSettings` of ``entry``: what its
        properties ask of the toolchain, overridden by the project's settings."""
        from varwheel.build.settings import BuildSettings, settings_for

        own = BuildSettings(env=entry.env, config_settings=entry.config_settings)
        return settings_for(entry.properties, backend=self.build_backend, overrides=own)


@dataclass(frozen=True)
class Problem:
    """A semantic problem with a variant's properties (``load_matrix`` raises the first one;
    ``varwheel check`` reports each as a finding with ``code``)."""

    code: str
    message: str
    path: str = ""


# --------------------------------------------------------------------------- structure


def _fail(reason: str, path: str, source: str) -> InvalidBuildConfig:
    return InvalidBuildConfig(reason, path=path, source=source)


def _check_keys(table: Mapping[str, Any], known: Sequence[str], path: str, source: str) -> None:
    import difflib

    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(f"unknown key {key!r}{hint}", path, source)


def _bool(table: Mapping[str, Any], key: str, default: bool, path: str, source: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise _fail("must be true or false", f"{path}.{key}", source)
    return value


# CI hands settings over as one-line values ($GITHUB_ENV, CIBW_* variables, job outputs)
_ONE_LINE = "must be one line (no line breaks or other control characters)"


def _multiline(text: str) -> bool:
    return any(not (c.isprintable() or c == "\t") for c in text)


def _config_settings(raw: object, path: str, source: str) -> dict[str, ConfigValue]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail("must be a table of strings or lists of strings", path, source)
    out: dict[str, ConfigValue] = {}
    for key, value in raw.items():
        where = f"{path}.{key}"
        if not key or "=" in key or not key.isprintable():
            raise _fail(f"invalid config-settings key {key!r}", path, source)
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[key] = tuple(value)
        else:
            raise _fail("must be a string or a non-empty list of strings", where, source)
        if any(_multiline(v) for v in ((value,) if isinstance(value, str) else value)):
            raise _fail(_ONE_LINE, where, source)
    return out


# A cloned project's matrix is untrusted input that flows into CI jobs (``varwheel matrix``)
# and into the hook's environment: it may set build settings, not what decides which programs,
# libraries or Python code run, nor what steers CI, installers or varwheel itself.
_RESERVED_ENV = frozenset({"PATH", "BASH_ENV", "ENV", "NODE_OPTIONS", "IFS", "SHELLOPTS"})
_RESERVED_PREFIXES = ("LD_", "DYLD_", "PYTHON", "GITHUB_", "RUNNER_", "ACTIONS_", "PIP_",
                      "UV_", "TWINE_", "VARWHEEL_", "_PYPROJECT_HOOKS_")  # fmt: skip


def reserved_env_name(name: str) -> bool:
    """Whether a project's ``env`` may not set ``name`` (docs/build-matrix.md)."""
    upper = name.upper()
    return upper in _RESERVED_ENV or upper.startswith(_RESERVED_PREFIXES)


def _env(raw: object, path: str, source: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail("must be a table of strings", path, source)
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not ENV_NAME_RE.fullmatch(key):
            raise _fail(f"invalid environment variable name {key!r}", path, source)
        if reserved_env_name(key):
            raise _fail(
                f"{key} may not be set by the project: it chooses which programs, libraries or "
                "Python code run, or steers CI and installers (set it in your shell or workflow)",
                f"{path}.{key}",
                source,
            )
        if not isinstance(value, str):
            raise _fail("must be a string", f"{path}.{key}", source)
        if _multiline(value):
            raise _fail(_ONE_LINE, f"{path}.{key}", source)
        out[key] = value
    return out


def _properties(raw: object, path: str, source: str) -> tuple[VariantProperty, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise _fail("must be a list of 'namespace :: feature :: value' strings", path, source)
    if not raw:
        raise _fail(
            "is empty: the variant without properties is the null variant "
            "(set null-variant = true instead)",
            path,
            source,
        )
    props: list[VariantProperty] = []
    for i, text in enumerate(raw):
        try:
            props.append(VariantProperty.parse(text))
        except InvalidInput as exc:
            raise _fail(str(exc), f"{path}[{i}]", source) from None
    if len(set(props)) != len(props):
        raise _fail("lists a property twice", path, source)
    return canonical_properties(props)


def _label(raw: object, props: tuple[VariantProperty, ...], path: str, source: str) -> str:
    if raw is None:
        return default_label(props)
    if not isinstance(raw, str):
        raise _fail("must be a string", path, source)
    try:
        validate_label(raw)
    except InvalidInput as exc:
        raise _fail(str(exc), path, source) from None
    if len(raw) > MAX_LABEL_LENGTH:
        raise _fail(
            f"label {raw!r} is {len(raw)} characters long; PEP 817 allows at most "
            f"{MAX_LABEL_LENGTH}",
            path,
            source,
        )
    if raw == NULL_LABEL:
        raise _fail(
            "label 'null' is reserved for the variant without properties (set null-variant = true)",
            path,
            source,
        )
    return raw


def _build_table(pyproject: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    tool = pyproject.get("tool")
    varwheel = tool.get("varwheel") if isinstance(tool, Mapping) else None
    table = varwheel.get("build") if isinstance(varwheel, Mapping) else None
    if table is None:
        raise _fail(f"no [{TABLE}] table: declare the variants to build there", "", source)
    if not isinstance(table, Mapping):
        raise _fail("must be a table", TABLE, source)
    return table


def parse_matrix(pyproject: Mapping[str, Any], *, source: str) -> BuildMatrix:
    """The matrix as declared, checked for structure, label grammar and uniqueness only (no
    provider knowledge): ``varwheel check`` uses it to report every semantic problem."""
    table = _build_table(pyproject, source)
    _check_keys(table, _TOP_KEYS, TABLE, source)
    shared_cs = _config_settings(table.get("config-settings"), f"{TABLE}.config-settings", source)
    shared_env = _env(table.get("env"), f"{TABLE}.env", source)
    raw_variants = table.get("variants", [])
    if not isinstance(raw_variants, list) or not all(isinstance(v, Mapping) for v in raw_variants):
        raise _fail("must be an array of tables ([[tool.varwheel.build.variants]])",
                    f"{TABLE}.variants", source)  # fmt: skip
    entries: list[MatrixEntry] = []
    by_label: dict[str, str] = {}
    by_props: dict[tuple[VariantProperty, ...], str] = {}
    for i, raw in enumerate(raw_variants):
        path = f"{TABLE}.variants[{i}]"
        _check_keys(raw, _VARIANT_KEYS, path, source)
        if "properties" not in raw:
            raise _fail("missing 'properties'", path, source)
        props = _properties(raw["properties"], f"{path}.properties", source)
        label = _label(raw.get("label"), props, f"{path}.label", source)
        if label in by_label:
            raise _fail(f"label {label!r} is already used by {by_label[label]}",
                        f"{path}.label", source)  # fmt: skip
        if props in by_props:
            raise _fail(
                f"same properties as {by_props[props]}: one label per property set",
                f"{path}.properties",
                source,
            )
        by_label[label] = by_props[props] = path
        cs = {**shared_cs, **_config_settings(raw.get("config-settings"),
                                              f"{path}.config-settings", source)}  # fmt: skip
        env = {**shared_env, **_env(raw.get("env"), f"{path}.env", source)}
        entries.append(MatrixEntry(BuildKind.VARIANT, label, props, cs, env))
    if _bool(table, "null-variant", False, TABLE, source):
        entries.append(MatrixEntry(BuildKind.NULL, NULL_LABEL, (), shared_cs, shared_env))
    if _bool(table, "non-variant", True, TABLE, source):
        entries.append(MatrixEntry(BuildKind.PLAIN, None, (), shared_cs, shared_env))
    if not entries:
        raise _fail("declares nothing to build (no variants, non-variant = false)", TABLE, source)
    native = _bool(table, "native", False, TABLE, source)
    build_system = pyproject.get("build-system")
    backend = build_system.get("build-backend") if isinstance(build_system, Mapping) else None
    # the module part names the backend (``pkg.mod:obj`` -> ``pkg.mod``), as settings_for expects
    module = backend.partition(":")[0].strip() if isinstance(backend, str) else None
    return BuildMatrix(tuple(entries), source, native, module or None)


# --------------------------------------------------------------------------- providers


def _requirement_names(info: ProviderInfo) -> set[str]:
    names: set[str] = set()
    for text in (*info.requires, *info.build_requires):
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return names


def provider_configs(ns: str, info: ProviderInfo | None) -> tuple[FeatureConfig, ...] | None:
    """Every feature and value the provider of ``ns`` knows (its ``get_all_configs()``), or None
    when varwheel cannot know them (a third-party plugin it does not re-implement).

    Static providers: their ``static-properties``. Plugins varwheel re-implements: the native
    provider's all-configs, also when a marker in ``requires`` excludes the build machine (a
    matrix is declared for every target, not only this one).
    """
    from varwheel.providers.registry import native_provider_by_namespace, native_provider_for

    if info is None:
        return None
    if info.static_properties is not None:
        return tuple(FeatureConfig(f, tuple(v)) for f, v in info.static_properties.items())
    provider = native_provider_for(ns, info)
    if provider is None:
        candidate = native_provider_by_namespace(ns)
        if candidate is not None and _requirement_names(info) & set(candidate.distributions):
            provider = candidate
    return None if provider is None else tuple(provider.get_all_configs())


def property_problems(
    md: VariantMetadata, props: Iterable[VariantProperty], *, path: str = ""
) -> list[Problem]:
    """What is wrong with one variant's properties against the project's ``[variant]`` table
    and its providers (PEP 817 §"Variant properties": each namespace has a provider, each
    feature and value is one the provider defines, one value per feature unless multi-value)."""
    problems: list[Problem] = []
    for (ns, feature), values in group_by_feature(canonical_properties(props)).items():
        shown = f"{ns} :: {feature}"
        if ns == ABI_DEPENDENCY:
            continue  # PEP 817 §"abi_dependency": no provider; any dist name and release
        info = md.providers.get(ns)
        if info is None and md.generation is SchemaGeneration.PEP825:
            # PEP 825 v0.1 documents carry no providers: the namespace names its provider
            from varwheel.providers.registry import native_provider_by_namespace

            native = native_provider_by_namespace(ns)
            configs = None if native is None else tuple(native.get_all_configs())
        elif info is None:
            problems.append(Problem(
                "undeclared-namespace",
                f"namespace '{ns}' has no [variant.providers.{ns}] entry",
                path,
            ))  # fmt: skip
            continue
        else:
            configs = provider_configs(ns, info)
        if configs is None:
            continue  # a third-party plugin: unknown here (check reports unknown-provider)
        config = next((c for c in configs if c.name == feature), None)
        if config is None:
            problems.append(Problem(
                "unknown-feature", f"provider '{ns}' has no feature '{feature}'", path
            ))  # fmt: skip
            continue
        unknown = [v for v in values if v not in config.values]
        if unknown:
            listing = ", ".join(config.values[:8]) + (", ..." if len(config.values) > 8 else "")
            problems.append(Problem(
                "unknown-value",
                f"{shown} :: {unknown[0]} is not a value provider '{ns}' knows "
                f"(known: {listing})",
                path,
            ))  # fmt: skip
        if len(values) > 1 and not config.multi_value:
            problems.append(Problem(
                "multi-value",
                f"{shown} is single-valued but lists {', '.join(values)}",
                path,
            ))  # fmt: skip
    return problems


def pyproject_path(path: Path | str) -> Path:
    """``PROJECT`` on the command line: a directory holding pyproject.toml, or the file."""
    path = Path(path)
    return path / "pyproject.toml" if path.is_dir() else path


def read_pyproject(path: Path | str) -> dict[str, Any]:
    """Parse a project's pyproject.toml (``path``: the file or its directory); one-line
    :class:`InvalidInput` naming the file when it cannot be read or is not TOML. It must be a
    regular file inside its directory (a cloned project is untrusted: a FIFO would block, a
    link could lead anywhere)."""
    from varwheel.build.source_tree import read_project_file

    file = pyproject_path(path)
    return dict(read_project_file(file, project=file.parent))


def project_metadata(pyproject: Mapping[str, Any], *, source: str) -> VariantMetadata:
    """The project's ``[variant]`` table, errors naming ``source``."""
    try:
        return load_pyproject(pyproject, source=source)
    except InvalidMetadata as exc:
        raise exc.with_source(source) if exc.source is None else exc from None


def load_matrix(pyproject: Mapping[str, Any], *, source: str) -> BuildMatrix:
    """Read and validate ``[tool.varwheel.build]``: structure, labels (grammar, at most 16
    characters, unique, ``null`` only for the null variant), one label per property set, and
    every property against ``[variant]`` and the providers' all-configs. Raises
    :class:`InvalidBuildConfig` (or ``InvalidMetadata`` for a bad ``[variant]``) naming
    ``source`` and the dotted path of the first problem."""
    matrix = parse_matrix(pyproject, source=source)
    if matrix.variants:
        md = project_metadata(pyproject, source=source)
        for i, entry in enumerate(matrix.variants):
            problems = property_problems(md, entry.properties,
                                         path=f"{TABLE}.variants[{i}].properties")  # fmt: skip
            if problems:
                raise _fail(problems[0].message, problems[0].path, source)
    return matrix
