"""``varwheel check``: keep a project's variant set sane without a central authority.

Two entry points: :func:`check_release` reads built wheels and ``*-variants.json`` files (one or
more releases, e.g. a ``dist/`` directory before upload) and :func:`check_project` reads a
``pyproject.toml`` (``[variant]`` and the declared matrix ``[tool.varwheel.build]``). Both return
findings; nothing is printed. ``CODES`` is the documented table of codes and severities
(docs/build-matrix.md#check): errors break the spec or make installers refuse or misread
wheels; warnings are legal but surprising for users.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from varwheel.build.matrix import (
    ABI_DEPENDENCY,
    BuildMatrix,
    parse_matrix,
    project_metadata,
    property_problems,
    provider_configs,
    pyproject_path,
    read_pyproject,
)
from varwheel.errors import InvalidInput
from varwheel.spec.filenames import (
    VARIANTS_JSON_SUFFIX,
    WheelFilename,
    is_variants_json_filename,
    parse_wheel_filename,
)
from varwheel.spec.model import ProviderInfo, SchemaGeneration, VariantMetadata
from varwheel.spec.properties import VariantProperty, group_by_feature

__all__ = [
    "CODES",
    "Finding",
    "Severity",
    "always_supported",
    "check_paths",
    "check_project",
    "check_release",
    "has_errors",
    "shadowing",
    "validate_wheel",
]


class Severity(enum.Enum):
    """How bad a ``Finding`` is (its JSON value unchanged)."""

    ERROR = "error"  # `varwheel check` exits 1
    WARNING = "warning"  # reported; exit 0 unless --strict


@dataclass(frozen=True)
class Finding:
    """One problem. ``subjects``: the files (release check) or labels/keys (project check)."""

    severity: Severity
    code: str
    message: str
    subjects: tuple[str, ...] = ()


E, W = Severity.ERROR, Severity.WARNING
CODES: Mapping[str, Severity] = {
    "invalid-wheel": E,  # unreadable wheel, bad name, variant.json disagrees with the label
    "invalid-variants-json": E,
    "undeclared-namespace": E,  # a property's namespace has no providers entry (PEP 817 MUST)
    "unknown-feature": E,  # the provider does not define the feature
    "unknown-value": E,  # the provider does not define the value
    "multi-value": E,  # several values for a single-valued feature
    "label-conflict": E,  # one label, different properties, in one release (PEP 817 MUST)
    "provider-mismatch": E,  # wheels of one release declare different providers / priorities
    "label-not-in-index": E,  # *-variants.json lacks a wheel's label: installers ignore it
    "unknown-provider": W,  # no provider varwheel knows owns the namespace: values unchecked
    "shadowed-variant": W,  # no target ever selects it automatically (see shadowing())
    "unselected-variant": W,  # (project) no shipped representative machine selects it
    "no-fallback": W,  # variant wheels of a tag set without a non-variant wheel
    "no-variants-json": W,  # variant wheels without the release's *-variants.json
    "label-changed": W,  # the same properties under another label in another release
    "label-reused": W,  # the same label for other properties in another release
}
del E, W


def _finding(code: str, message: str, subjects: Iterable[str] = ()) -> Finding:
    return Finding(CODES[code], code, message, tuple(subjects))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def _show(props: Iterable[VariantProperty]) -> str:
    return "{" + ", ".join(map(str, props)) + "}"


# --------------------------------------------------------------------------- shared rules


def _features(props: Iterable[VariantProperty]) -> dict[tuple[str, str], frozenset[str]]:
    return {key: frozenset(values) for key, values in group_by_feature(props).items()}


def always_supported(md: VariantMetadata | None) -> dict[tuple[str, str], frozenset[str]]:
    """Features every target supports: static providers' ``static-properties`` (PEP 817 / the
    Providers draft: AoT values come from the metadata, never from the machine), unless the
    provider is optional or has an ``enable-if`` marker."""
    out: dict[tuple[str, str], frozenset[str]] = {}
    if md is None:
        return out
    for ns, info in md.providers.items():
        if info.static_properties is None or info.optional or info.enable_if is not None:
            continue
        for feature, values in info.static_properties.items():
            out[(ns, feature)] = frozenset(values)
    return out


def shadowing(
    variants: Mapping[str, tuple[VariantProperty, ...]], md: VariantMetadata | None = None
) -> dict[str, str]:
    """``{shadowed label: a label that shadows it}``: variants no target selects automatically.

    Variant A is shadowed by B when, for every feature A uses, B uses it too and lists every
    value A lists, and either

    1. B uses no other feature and B's label sorts before A's: B is compatible wherever A is
       (AND over features, OR over values), B's best supported value of each feature is at
       least as good as A's under any value order (PEP 825 §"Variant ordering" ranks by the
       best supported value per feature), so B's key is never worse, and on equal keys the
       last tie-break, the label, picks B; or
    2. B's other features are all always supported (a non-optional static provider without
       ``enable-if``, with one of its values listed): B is still compatible wherever A is, and
       its key is A's key with extra elements, which always ranks first (a smaller element
       comes first, or A's key ends first and the longer key wins).

    Only ``--variant A`` (or ``--forbid`` on B) selects A then. A variant with fewer features
    than another is never shadowed by it: on equal keys the longer key wins.
    """
    static = always_supported(md)
    shaped = {label: _features(props) for label, props in variants.items() if props}
    # B must list every property A lists: intersect the posting lists of A's properties
    postings: dict[VariantProperty, set[str]] = defaultdict(set)
    for label, props in variants.items():
        if props:
            for prop in props:
                postings[prop].add(label)
    result: dict[str, str] = {}
    for a in sorted(shaped):
        fa = shaped[a]
        lists = sorted((postings[p] for p in set(variants[a])), key=len)
        candidates = set.intersection(*lists) - {a}
        for b in sorted(candidates):
            extra = shaped[b].keys() - fa.keys()
            if (not extra and b < a) or (
                extra and all(key in static and shaped[b][key] & static[key] for key in extra)
            ):
                result[a] = b
                break
    return result


def _property_findings(
    md: VariantMetadata,
    label: str,
    props: tuple[VariantProperty, ...],
    subjects: Sequence[str],
    where: str = "",
) -> list[Finding]:
    return [
        _finding(p.code, f"{where}variant '{label}': {p.message}", subjects)
        for p in property_problems(md, props)
    ]


def _unknown_providers(
    md: VariantMetadata, used: Iterable[str], subjects: Sequence[str]
) -> list[Finding]:
    from varwheel.providers.registry import native_provider_by_namespace

    out = []
    for ns in sorted(set(used) | set(md.providers)):
        info = md.providers.get(ns)
        if ns == ABI_DEPENDENCY:
            continue
        if info is None:  # PEP 825 v0.1: no provider entries; the namespace names the provider
            if (
                md.generation is SchemaGeneration.PEP825
                and native_provider_by_namespace(ns) is None
            ):
                out.append(_finding(
                    "unknown-provider",
                    f"namespace '{ns}' is owned by no provider varwheel knows: its features and "
                    "values are not checked",
                    subjects,
                ))  # fmt: skip
            continue
        if provider_configs(ns, info) is None:
            plugin = ", ".join((*info.requires, *info.build_requires)) or info.plugin_api or "?"
            out.append(_finding(
                "unknown-provider",
                f"namespace '{ns}' is owned by no provider varwheel knows ({plugin}): its "
                "features and values are not checked, and installers must trust the plugin",
                subjects,
            ))  # fmt: skip
    return out


def _shadow_findings(
    variants: Mapping[str, tuple[VariantProperty, ...]],
    md: VariantMetadata | None,
    subjects_of: Mapping[str, Sequence[str]],
) -> list[Finding]:
    out = []
    for a, b in sorted(shadowing(variants, md).items()):
        why = (
            "wins the label tie-break"
            if {p.feature_key for p in variants[b]} == {p.feature_key for p in variants[a]}
            else "always ranks first (its extra properties are static, always supported)"
        )
        out.append(_finding(
            "shadowed-variant",
            f"variant '{a}' {_show(variants[a])} is never selected: '{b}' {_show(variants[b])} "
            f"is compatible wherever it is and {why}",
            subjects_of.get(a, (a,)),
        ))  # fmt: skip
    return out


# --------------------------------------------------------------------------- releases


@dataclass(frozen=True)
class _Wheel:
    path: str
    filename: WheelFilename
    metadata: VariantMetadata | None


@dataclass
class _Release:
    project: str
    version: str
    wheels: list[_Wheel]
    index_files: list[tuple[str, VariantMetadata]]


def _collect(paths: Sequence[Path]) -> list[Path]:
    """The files to read, each once (a file may also be inside a directory given)."""
    files: dict[Path, None] = {}
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and (p.name.endswith(".whl") or is_variants_json_filename(p.name))
            )
            if not found:
                raise InvalidInput(f"{path}: no wheels or *{VARIANTS_JSON_SUFFIX} files")
            files.update((p, None) for p in found if p.resolve() not in seen)
        elif path.is_file():
            if path.resolve() not in seen:
                files[path] = None
        else:
            raise InvalidInput(f"{path}: no such file or directory")
        seen = {p.resolve() for p in files}
    return list(files)


def validate_wheel(path: Path) -> None:
    """The wheel as ``varwheel install`` validates it (``install.wheelcheck``: archive rules
    against zip bombs and unsafe or duplicate members, every RECORD hash and size, dist-info
    names): a release our installer refuses is an error here, and ``publish`` refuses it."""
    from varwheel.errors import InstallError
    from varwheel.install.wheelcheck import check_wheel

    try:
        check_wheel(path)
    except InstallError as exc:
        raise InvalidInput(str(exc).removesuffix("; nothing was installed")) from None


def _read_files(files: list[Path]) -> tuple[dict[tuple[str, str], _Release], list[Finding]]:
    from varwheel.inspect import inspect_path, inspect_wheel

    releases: dict[tuple[str, str], _Release] = {}
    findings: list[Finding] = []

    def release(project: str, version: str) -> _Release:
        return releases.setdefault((project, version), _Release(project, version, [], []))

    for path in files:
        if path.name.endswith(".whl"):
            try:
                wf = parse_wheel_filename(path.name)
                validate_wheel(path)
                ins = inspect_wheel(path)
            except InvalidInput as exc:
                findings.append(_finding("invalid-wheel", str(exc), (path.name,)))
                continue
            release(str(wf.project), str(wf.version)).wheels.append(
                _Wheel(path.name, wf, ins.metadata)
            )
        elif is_variants_json_filename(path.name):
            try:
                ins = inspect_path(path)
            except InvalidInput as exc:
                findings.append(_finding("invalid-variants-json", str(exc), (path.name,)))
                continue
            assert ins.metadata is not None and ins.project and ins.version
            release(ins.project, ins.version).index_files.append((path.name, ins.metadata))
        else:
            raise InvalidInput(f"{path}: not a wheel or a *{VARIANTS_JSON_SUFFIX} file")
    return releases, findings


def _labels(rel: _Release) -> dict[str, dict[tuple[VariantProperty, ...], list[str]]]:
    """label -> property set -> the files that declare it (wheels and index files)."""
    out: dict[str, dict[tuple[VariantProperty, ...], list[str]]] = defaultdict(dict)
    for wheel in rel.wheels:
        label = wheel.filename.label
        if label is not None and wheel.metadata is not None:
            props = wheel.metadata.variants.get(label, ())
            out[label].setdefault(props, []).append(wheel.path)
    for name, md in rel.index_files:
        for label, props in md.variants.items():
            out[label].setdefault(props, []).append(name)
    return out


def _provider_findings(rel: _Release) -> list[Finding]:
    docs = [(w.path, w.metadata) for w in rel.wheels if w.metadata is not None]
    docs += rel.index_files
    findings: list[Finding] = []
    namespaces = sorted({ns for _, md in docs for ns in md.providers})
    for ns in namespaces:
        shapes: dict[Any, list[str]] = defaultdict(list)
        shown: dict[Any, str] = {}
        for name, md in docs:
            info = md.providers.get(ns)
            key = _provider_key(info)
            shapes[key].append(name)
            shown[key] = "absent" if info is None else _provider_text(info)
        if len(shapes) > 1:
            parts = [f"{shown[key]} in {', '.join(names)}" for key, names in shapes.items()]
            findings.append(_finding(
                "provider-mismatch",
                f"{rel.project} {rel.version}: providers.{ns} differs between files: "
                + "; ".join(parts),
                sorted(n for names in shapes.values() for n in names),
            ))  # fmt: skip
    orders: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, md in docs:
        orders[md.namespace_priorities].append(name)
    if len(orders) > 1:
        parts = [f"{list(order)} in {', '.join(names)}" for order, names in orders.items()]
        findings.append(_finding(
            "provider-mismatch",
            f"{rel.project} {rel.version}: default-priorities.namespace differs: "
            + "; ".join(parts),
            sorted(n for names in orders.values() for n in names),
        ))  # fmt: skip
    return findings


def _provider_key(info: ProviderInfo | None) -> tuple[Any, ...] | None:
    """A hashable value equal for equal entries (``static_properties`` is a mapping)."""
    if info is None:
        return None
    static = None
    if info.static_properties is not None:
        static = tuple(sorted((f, tuple(v)) for f, v in info.static_properties.items()))
    return (
        info.requires, info.build_requires, info.plugin_api, info.builtin, info.optional,
        info.enable_if, info.install_time, info.feature_order, static,
    )  # fmt: skip


def _provider_text(info: Any) -> str:
    parts = []
    for key in ("requires", "build_requires", "plugin_api", "builtin", "optional", "enable_if"):
        value = getattr(info, key)
        if value not in ((), None, False):
            parts.append(
                f"{key.replace('_', '-')}={list(value) if isinstance(value, tuple) else value}"
            )
    if info.static_properties is not None:
        parts.append("static-properties")
    return "{" + ", ".join(parts) + "}"


def _fallback_findings(rel: _Release) -> list[Finding]:
    plain = [w.filename for w in rel.wheels if w.filename.label is None]
    plain_tags = frozenset(t for wf in plain for t in wf.tags)
    universal = any(t.platform == "any" and t.abi == "none" for t in plain_tags)
    missing: dict[str, list[str]] = defaultdict(list)
    for wheel in rel.wheels:
        wf = wheel.filename
        if wf.label is None or universal or wf.tags & plain_tags:
            continue
        missing[f"{wf.python_tag}-{wf.abi_tag}-{wf.platform_tag}"].append(wheel.path)
    return [
        _finding(
            "no-fallback",
            f"{rel.project} {rel.version}: no non-variant wheel for {tags}: pip and uv without "
            "variant support skip the variant wheels and silently install an older version "
            "(or fail when there is none)",
            sorted(paths),
        )
        for tags, paths in sorted(missing.items())
    ]


def _release_findings(rel: _Release) -> list[Finding]:
    findings: list[Finding] = []
    labels = _labels(rel)
    for label, sets in sorted(labels.items()):
        if len(sets) > 1:
            parts = [f"{_show(props)} in {', '.join(names)}" for props, names in sets.items()]
            findings.append(_finding(
                "label-conflict",
                f"{rel.project} {rel.version}: label '{label}' names different properties: "
                + "; ".join(parts),
                sorted(n for names in sets.values() for n in names),
            ))  # fmt: skip
    findings += _provider_findings(rel)
    # per variant: its properties against the providers of the first file declaring it
    variants: dict[str, tuple[VariantProperty, ...]] = {}
    subjects_of: dict[str, list[str]] = {}
    checked: set[tuple[str, tuple[VariantProperty, ...]]] = set()
    docs = [(w.path, w.metadata) for w in rel.wheels if w.metadata is not None]
    docs += rel.index_files
    used: set[str] = set()
    for name, md in docs:
        for label, props in md.variants.items():
            variants.setdefault(label, props)
            subjects_of.setdefault(label, []).append(name)
            used.update(p.namespace for p in props)
            if (label, props) not in checked:
                checked.add((label, props))
                findings += _property_findings(
                    md, label, props, (name,), f"{rel.project} {rel.version}: "
                )
    if docs:
        findings += _unknown_providers(docs[0][1], used, [name for name, _ in docs])
    findings += _shadow_findings(variants, docs[0][1] if docs else None, subjects_of)
    findings += _fallback_findings(rel)
    variant_wheels = [w for w in rel.wheels if w.filename.label is not None]
    if rel.index_files:
        indexed = {label for _, md in rel.index_files for label in md.variants}
        for wheel in variant_wheels:
            label = wheel.filename.label
            assert label is not None
            if label not in indexed:  # uv drops even a null wheel missing from it
                findings.append(_finding(
                    "label-not-in-index",
                    f"label '{label}' is not in {rel.index_files[0][0]}: installers ignore "
                    "this wheel",
                    (wheel.path,),
                ))  # fmt: skip
    elif variant_wheels:
        findings.append(_finding(
            "no-variants-json",
            f"{rel.project} {rel.version}: variant wheels without "
            f"{rel.project}-{rel.version}{VARIANTS_JSON_SUFFIX}: installers that read only the "
            "index file (uv) ignore them; generate it before uploading",
            sorted(w.path for w in variant_wheels),
        ))  # fmt: skip
    return findings


def _history_findings(releases: Sequence[_Release]) -> list[Finding]:
    """Across the releases of one project: a label should keep its meaning."""
    findings: list[Finding] = []
    by_project: dict[str, list[_Release]] = defaultdict(list)
    for rel in releases:
        by_project[rel.project].append(rel)
    for project, rels in sorted(by_project.items()):
        if len(rels) < 2:
            continue
        label_of: dict[tuple[VariantProperty, ...], dict[str, list[str]]] = defaultdict(dict)
        props_of: dict[str, dict[tuple[VariantProperty, ...], list[str]]] = defaultdict(dict)
        for rel in rels:
            for label, sets in _labels(rel).items():
                if len(sets) != 1:
                    continue  # already a label-conflict inside the release
                (props,) = sets
                if not props:
                    continue
                label_of[props].setdefault(label, []).append(rel.version)
                props_of[label].setdefault(props, []).append(rel.version)
        for props, labels in sorted(label_of.items()):
            if len(labels) > 1:
                parts = [f"'{lb}' in {', '.join(vs)}" for lb, vs in sorted(labels.items())]
                findings.append(_finding(
                    "label-changed",
                    f"{project}: {_show(props)} is labelled " + ", ".join(parts)
                    + ": users pinning a label (--variant) lose it on upgrade",
                    sorted(labels),
                ))  # fmt: skip
        for label, sets in sorted(props_of.items()):
            if len(sets) > 1:
                parts = [f"{_show(p)} in {', '.join(vs)}" for p, vs in sets.items()]
                findings.append(_finding(
                    "label-reused",
                    f"{project}: label '{label}' means " + "; ".join(parts),
                    (label,),
                ))  # fmt: skip
    return findings


def check_release(paths: Sequence[Path]) -> tuple[Finding, ...]:
    """Findings for the wheels and ``*-variants.json`` files at ``paths`` (files, or
    directories read non-recursively), grouped into releases by project and version.
    Raises :class:`InvalidInput` when a path does not exist or holds nothing to check."""
    releases, findings = _read_files(_collect(list(paths)))
    ordered = sorted(releases.values(), key=lambda r: (r.project, Version(r.version)))
    for rel in ordered:
        findings += _release_findings(rel)
    findings += _history_findings(ordered)
    return tuple(findings)


# --------------------------------------------------------------------------- projects


def _coverage_findings(
    matrix: BuildMatrix, md: VariantMetadata, *, exclude: Collection[str]
) -> list[Finding]:
    """Declared variants none of the shipped representative machines selects. Only variants
    whose namespaces the machines model (some machine has an answer there, or the provider is
    static) are judged: an Intel or Ascend variant is not flagged for lack of such a machine."""
    from varwheel.build.coverage import coverage, shipped_machines

    machines = shipped_machines()
    modelled = {ns for m in machines for ns, feats in m.support.properties.items() if feats}
    modelled |= {ns for ns, info in md.providers.items() if info.static_properties is not None}
    report = coverage(matrix, md, machines)
    out = []
    for entry in matrix.variants:
        label = entry.label
        if label not in report.unselected or label in exclude:
            continue
        if not {p.namespace for p in entry.properties} <= modelled:
            continue
        why = (
            "compatible with none of them"
            if label in report.incompatible
            else "always outranked by another variant"
        )
        out.append(_finding(
            "unselected-variant",
            f"variant '{label}' {_show(entry.properties)} is selected by none of varwheel's "
            f"{len(machines)} representative machines ({why}); `varwheel matrix --coverage` "
            "shows each machine's choice",
            (str(label),),
        ))  # fmt: skip
    return out


def check_project(path: Path | str) -> tuple[Finding, ...]:
    """Findings for a project's declared matrix (``path``: pyproject.toml or its directory).
    A malformed ``[variant]`` or ``[tool.varwheel.build]`` table is bad input (raised, exit 2),
    not a finding."""
    file = pyproject_path(path)
    source = str(file)
    doc = read_pyproject(file)
    matrix = parse_matrix(doc, source=source)
    findings: list[Finding] = []
    variants = {e.label: e.properties for e in matrix.variants if e.label is not None}
    if variants:
        md = project_metadata(doc, source=source)
        for label, props in variants.items():
            findings += _property_findings(md, label, props, (label,))
        used = {p.namespace for props in variants.values() for p in props}
        findings += _unknown_providers(md, used, (source,))
        findings += _shadow_findings(variants, md, {})
        if not any(f.severity is Severity.ERROR for f in findings):
            shadowed = set(shadowing(variants, md))
            findings += _coverage_findings(matrix, md, exclude=shadowed)
    if variants and not matrix.ships_plain:
        findings.append(_finding(
            "no-fallback",
            f"{source}: non-variant = false: pip and uv without variant support skip the "
            "variant wheels and silently install an older version (or fail when there is none)",
            ("non-variant",),
        ))  # fmt: skip
    return tuple(findings)


def _is_release_file(path: Path) -> bool:
    return path.name.endswith(".whl") or is_variants_json_filename(path.name)


def _has_release_files(directory: Path) -> bool:
    try:
        return any(p.is_file() and _is_release_file(p) for p in directory.iterdir())
    except OSError as exc:
        raise InvalidInput(f"{directory}: cannot list: {exc.strerror or exc}") from None


def check_paths(paths: Sequence[Path | str]) -> tuple[Finding, ...]:
    """``varwheel check PATH...``: a project check for a ``pyproject.toml`` (or a directory
    holding one and no wheels), a release check for everything else, findings in that order."""
    projects: list[Path] = []
    release: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and not _has_release_files(path) and (path / "pyproject.toml").is_file():
            projects.append(path / "pyproject.toml")
        elif path.suffix == ".toml":
            projects.append(path)
        else:
            release.append(path)
    findings: list[Finding] = []
    for project in projects:
        findings += check_project(project)
    if release:
        findings += check_release(release)
    return tuple(findings)
