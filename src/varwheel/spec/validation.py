"""Cross-field rules of variant metadata, checked on the model (any schema generation).

``validate`` raises ``InvalidMetadata`` whose ``path`` is the dotted location in the document
(``providers.nvidia.plugin-api``); ``lint`` returns non-fatal findings. Rule references are to
spec-digest §3/§4/§10 (PEP 817), PEP 825 §"Variant metadata" and the v0.2.0 ("Providers") shape.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache
from typing import Literal

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement

from varwheel.errors import InvalidLabel, InvalidMetadata
from varwheel.safeparse import too_long_number_reason
from varwheel.spec.model import ProviderInfo, ProviderKind, SchemaGeneration, VariantMetadata
from varwheel.spec.properties import (
    FEATURE_RE,
    LABEL_RE,
    NAMESPACE_RE,
    NULL_LABEL,
    VALUE_RE,
    check_label_matches,
    group_by_feature,
    shown,
    validate_label,
)

DocumentKind = Literal["pyproject", "variant.json", "variants.json"]
DOCUMENT_KINDS: tuple[DocumentKind, ...] = ("pyproject", "variant.json", "variants.json")

# PEP 817 §"abi_dependency": MUST NOT be listed in providers; only in built wheels' properties.
ABI_DEPENDENCY = "abi_dependency"

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# Entry-point object reference ``mod(.mod)*(:attr(.attr)*)?``; spaces around ``:`` tolerated
# (PEP 817 §"Plugin API", as in the entry-points specification).
PLUGIN_API_RE = re.compile(rf"^{_IDENT}(?:\.{_IDENT})*(?:[ \t]*:[ \t]*{_IDENT}(?:\.{_IDENT})*)?$")


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _fail(reason: str, path: str) -> InvalidMetadata:
    return InvalidMetadata(reason, path=path)


def _check_name(regex: re.Pattern[str], what: str, text: object, path: str) -> None:
    if not isinstance(text, str) or not regex.fullmatch(text):
        raise _fail(f"invalid {what} {shown(text)}: must match {regex.pattern}", path)


@lru_cache(maxsize=16)
def _list_regex(regex: re.Pattern[str]) -> re.Pattern[str]:
    """``regex`` (``^X$``) for a newline-joined list of items: ``X(\nX)*``."""
    body = regex.pattern.removeprefix("^").removesuffix("$")
    return re.compile(f"(?:{body})(?:\n(?:{body}))*")


def _check_names(regex: re.Pattern[str], what: str, items: Collection[object], path: str) -> None:
    """``_check_name`` for every item; static value lists hold thousands of values, so a list
    that is valid as a whole is checked in one regex pass, and only a bad one item by item."""
    if not items:
        return
    if all(type(item) is str for item in items):
        joined = "\n".join(items)  # type: ignore[arg-type]
        # an item holding a newline changes the count: then the slow path finds and names it
        if joined.count("\n") == len(items) - 1 and _list_regex(regex).fullmatch(joined):
            return
    for item in items:
        _check_name(regex, what, item, path)


def _check_unique(items: Iterable[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise _fail(f"duplicate {what} {item!r}", path)
        seen.add(item)


def check_plugin_api(text: object, path: str) -> None:
    if not isinstance(text, str) or not PLUGIN_API_RE.fullmatch(text):
        raise _fail(
            f"not a valid object reference {text!r}: expected 'module(.module)*(:attr(.attr)*)?'",
            path,
        )


@lru_cache(maxsize=4096)
def _syntax_problem(parse: type[Requirement] | type[Marker], text: str) -> str | None:
    """Why ``parse(text)`` fails, or None; index files repeat the same requires / enable-if
    strings, so each text is parsed once per process."""
    try:
        parse(text)
    except (InvalidRequirement, InvalidMarker) as err:
        return _first_line(err)
    return None


def _long_number(text: str, what: str, path: str) -> None:
    # packaging compares versions as integers: past int()'s digit limit it raises a bare
    # ValueError wherever this requirement or marker is evaluated later (plugin install, enable-if)
    reason = too_long_number_reason(text)
    if reason is not None:
        raise _fail(f"not a valid {what}: holds {reason}", path)


def _check_requirement(text: str, path: str) -> None:
    _long_number(text, "requirement", path)
    problem = _syntax_problem(Requirement, text)
    if problem is not None:
        raise _fail(f"not a valid requirement {text!r}: {problem}", path)


def _check_marker(text: str, path: str) -> None:
    _long_number(text, "environment marker", path)
    problem = _syntax_problem(Marker, text)
    if problem is not None:
        raise _fail(f"not a valid environment marker {text!r}: {problem}", path)


def _check_static(static: Mapping[str, tuple[str, ...]], path: str, *, non_empty: bool) -> None:
    if non_empty and not static:
        raise _fail("must name at least one feature", path)
    for feature, values in static.items():
        _check_name(FEATURE_RE, "feature name", feature, path)
        fpath = f"{path}.{feature}"
        if non_empty and not values:
            raise _fail("must list at least one value", fpath)
        _check_names(VALUE_RE, "feature value", values, fpath)
        _check_unique(values, fpath, "value")


def _check_v0_2_0_provider(info: ProviderInfo, path: str, kind: DocumentKind) -> None:
    """PEP 825 + Providers (v0.2.0): exactly one of requires / build-requires / static-properties /
    builtin; plugin-api only with a plugin; feature-order only with static-properties."""
    present = [
        name
        for name, flag in (
            ("requires", bool(info.requires)),
            ("build-requires", bool(info.build_requires)),
            ("static-properties", info.static_properties is not None),
            ("builtin", info.builtin is not None),
        )
        if flag
    ]
    if len(present) != 1:
        got = ", ".join(present) if present else "none"
        raise _fail(
            f"exactly one of requires, build-requires, static-properties or builtin must be given (got {got})",
            path,
        )
    if info.build_requires and kind != "pyproject":
        raise _fail(
            "build-requires is only allowed in pyproject.toml; built metadata carries static-properties",
            f"{path}.build-requires",
        )
    if info.plugin_api is not None and not (info.requires or info.build_requires):
        raise _fail(
            "plugin-api is valid only with requires or build-requires", f"{path}.plugin-api"
        )
    if info.feature_order and info.static_properties is None:
        raise _fail("feature-order is valid only with static-properties", f"{path}.feature-order")
    if info.enable_if is not None:
        raise _fail("enable-if is not part of schema v0.2.0", f"{path}.enable-if")
    if not info.install_time:
        raise _fail("install-time is not part of schema v0.2.0", f"{path}.install-time")
    if info.builtin is not None and not info.builtin:
        raise _fail("must not be empty", f"{path}.builtin")
    if info.static_properties is not None:
        _check_static(info.static_properties, f"{path}.static-properties", non_empty=True)
        _check_feature_order(info.feature_order, info.static_properties, f"{path}.feature-order")


def _check_feature_order(
    order: tuple[str, ...], static: Mapping[str, tuple[str, ...]], path: str
) -> None:
    for feature in order:
        _check_name(FEATURE_RE, "feature name", feature, path)
    _check_unique(order, path, "feature")
    if (len(static) > 1 or order) and set(order) != set(static):
        missing = sorted(set(static) - set(order))
        extra = sorted(set(order) - set(static))
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"not in static-properties: {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise _fail(f"must list every static feature exactly once ({detail})", path)


def _check_pep817_provider(
    ns: str,
    info: ProviderInfo,
    path: str,
    kind: DocumentKind,
    feature_prio: tuple[str, ...],
    prefix: str,
) -> None:
    if (
        info.builtin is not None
        or info.build_requires
        or (info.feature_order and info.install_time)
    ):
        raise _fail("builtin / build-requires / feature-order are not part of schema v0.0.x", path)
    if info.install_time:
        # spec-digest §3.2 presence rule 1 / checklist 18
        if not info.requires:
            raise _fail("an install-time provider needs a non-empty requires", f"{path}.requires")
        if info.static_properties is not None:
            raise _fail(
                "only AoT providers (install-time = false) may have static-properties",
                f"{prefix}static-properties.{ns}",
            )
    elif kind == "pyproject":
        # checklist 19: AoT without a plugin lists static-properties; AoT with a plugin must not.
        if info.requires and info.static_properties is not None:
            raise _fail(
                "an AoT provider with requires gets its static-properties from its plugin at build time",
                f"{prefix}static-properties.{ns}",
            )
        if not info.requires and info.static_properties is None:
            raise _fail(
                "an AoT provider (install-time = false) without requires needs static-properties",
                f"{prefix}static-properties.{ns}",
            )
    elif info.static_properties is None:
        # checklist 20: built metadata carries the static properties of every AoT provider.
        raise _fail(
            f"missing for AoT provider {ns!r} (install-time = false)",
            f"{prefix}static-properties.{ns}",
        )
    if info.enable_if is not None:
        if not info.enable_if.strip():
            raise _fail("must not be empty", f"{path}.enable-if")
        _check_marker(info.enable_if, f"{path}.enable-if")
    if info.static_properties is not None:
        _check_static(info.static_properties, f"{prefix}static-properties.{ns}", non_empty=False)
        # checklist 21: a namespace with 2+ static features orders them all.
        if len(info.static_properties) > 1:
            missing = sorted(set(info.static_properties) - set(feature_prio))
            if missing:
                raise _fail(
                    f"namespace {ns!r} has several static features; all must be ordered here "
                    f"(missing {', '.join(missing)})",
                    f"{prefix}default-priorities.feature.{ns}",
                )


def _check_priorities(md: VariantMetadata, prefix: str) -> None:
    for ns, features in md.feature_priorities.items():
        path = f"{prefix}default-priorities.feature.{ns}"
        _check_name(NAMESPACE_RE, "namespace", ns, path)
        for feature in features:
            _check_name(FEATURE_RE, "feature name", feature, path)
        _check_unique(features, path, "feature")
    for ns, by_feature in md.property_priorities.items():
        _check_name(NAMESPACE_RE, "namespace", ns, f"{prefix}default-priorities.property.{ns}")
        for feature, values in by_feature.items():
            path = f"{prefix}default-priorities.property.{ns}.{feature}"
            _check_name(FEATURE_RE, "feature name", feature, path)
            _check_names(VALUE_RE, "feature value", values, path)
            _check_unique(values, path, "value")


def _check_variants(md: VariantMetadata, kind: DocumentKind, has_providers: bool) -> None:
    if kind == "pyproject":
        if md.variants:
            raise _fail("pyproject.toml [variant] must not contain variants", "variant.variants")
        return
    if kind == "variant.json" and len(md.variants) != 1:
        # PEP 825 §"Variants": exactly one entry, the wheel's own label (checklist 16).
        raise _fail(
            f"a wheel's variant.json must list exactly one variant, found {len(md.variants)}",
            "variants",
        )
    known = set(md.providers) if has_providers else set(md.namespace_priorities)
    where = "providers" if has_providers else "default-priorities.namespace"
    # each distinct name is checked once (a document repeats them across thousands of labels)
    seen_ns: set[str] = set()
    seen_features: set[str] = set()
    seen_values: set[str] = set()
    pep817 = md.generation is SchemaGeneration.PEP817
    for label, props in md.variants.items():
        # PEP 825 §"Variant label": 'null' always means the empty property set, and back.
        # PEP 817-era indexes used another label for it (torch 2.8.0: '00000000'); read those.
        fine = (
            type(label) is str
            and LABEL_RE.fullmatch(label) is not None
            and (not props or label != NULL_LABEL)
            and (bool(props) or label == NULL_LABEL or pep817)
        )
        if not fine:  # the spelled-out checks name the problem
            try:
                if not props and pep817:
                    validate_label(label)
                else:
                    check_label_matches(label, props)
            except InvalidLabel as err:
                raise _fail(str(err), f"variants.{label}") from err
        for prop in props:
            ns = prop.namespace
            if ns not in seen_ns:
                _check_name(NAMESPACE_RE, "namespace", ns, f"variants.{label}.{ns}")
                seen_ns.add(ns)
            if prop.feature not in seen_features:
                _check_name(
                    FEATURE_RE,
                    "feature name",
                    prop.feature,
                    f"variants.{label}.{ns}.{prop.feature}",
                )
                seen_features.add(prop.feature)
            if prop.value not in seen_values:
                _check_name(
                    VALUE_RE, "feature value", prop.value, f"variants.{label}.{ns}.{prop.feature}"
                )
                seen_values.add(prop.value)
            if ns == ABI_DEPENDENCY and has_providers:
                continue  # PEP 817 §"abi_dependency": no provider by design
            if ns not in known:
                raise _fail(
                    f"namespace {prop.namespace!r} is used by variant {label!r} but has no entry in {where}",
                    f"variants.{label}.{prop.namespace}",
                )


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``), for one-line messages."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def one_line(err: InvalidMetadata) -> InvalidMetadata:
    """``err`` with control characters in its path and reason escaped: messages stay one line
    even when a document uses such characters in its keys."""
    if printable(err.path) == err.path and printable(err.reason) == err.reason:
        return err
    clean = type(err)(printable(err.reason), path=printable(err.path), source=err.source)
    clean.__cause__ = err.__cause__
    return clean


def validate(md: VariantMetadata, *, kind: DocumentKind) -> None:
    """Check every cross-field rule for a document of ``kind``; raise ``InvalidMetadata``."""
    try:
        _validate(md, kind)
    except InvalidMetadata as err:
        raise one_line(err) from None


def _validate(md: VariantMetadata, kind: DocumentKind) -> None:
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    prefix = "variant." if kind == "pyproject" else ""
    nspath = f"{prefix}default-priorities.namespace"
    # checklist 17 / PEP 825: present, non-empty, unique
    if not md.namespace_priorities:
        raise _fail("must list at least one namespace", nspath)
    for ns in md.namespace_priorities:
        _check_name(NAMESPACE_RE, "namespace", ns, nspath)
    _check_unique(md.namespace_priorities, nspath, "namespace")
    has_providers = md.generation is not SchemaGeneration.PEP825
    if has_providers:
        if ABI_DEPENDENCY in md.providers or ABI_DEPENDENCY in md.namespace_priorities:
            raise _fail(
                f"{ABI_DEPENDENCY!r} is reserved and must not be listed as a provider",
                f"{prefix}providers.{ABI_DEPENDENCY}",
            )
        if set(md.namespace_priorities) != set(md.providers):
            missing = sorted(set(md.providers) - set(md.namespace_priorities))
            extra = sorted(set(md.namespace_priorities) - set(md.providers))
            parts = []
            if missing:
                parts.append(f"providers not listed here: {', '.join(missing)}")
            if extra:
                parts.append(f"listed without a provider: {', '.join(extra)}")
            raise _fail(f"must name the same namespaces as providers ({'; '.join(parts)})", nspath)
        for ns, info in md.providers.items():
            path = f"{prefix}providers.{ns}"
            _check_name(NAMESPACE_RE, "namespace", ns, path)
            if info.namespace != ns:
                raise _fail(f"provider entry names namespace {info.namespace!r}", path)
            if info.plugin_api is not None:
                check_plugin_api(info.plugin_api, f"{path}.plugin-api")
            for key, reqs in (("requires", info.requires), ("build-requires", info.build_requires)):
                for i, req in enumerate(reqs):
                    _check_requirement(req, f"{path}.{key}[{i}]")
            if md.generation is SchemaGeneration.PROVIDERS:
                _check_v0_2_0_provider(info, path, kind)
            else:
                _check_pep817_provider(
                    ns, info, path, kind, md.feature_priorities.get(ns, ()), prefix
                )
    elif md.providers:
        raise _fail("schema v0.1.x has no providers", "providers")
    _check_priorities(md, prefix)
    _check_variants(md, kind, has_providers)


def lint(md: VariantMetadata) -> tuple[str, ...]:
    """Non-fatal findings: things that are allowed but almost certainly not what the author meant.

    Linear in the size of the document: each static value list becomes a set once, not once per
    variant (index files hold thousands of labels over lists of thousands of values)."""
    found: list[str] = []
    legacy_null = md.legacy_null_labels
    static_sets: dict[str, dict[str, frozenset[str]] | None] = {}
    for ns, info in md.providers.items():
        static = info.static_properties
        usable = info.kind is ProviderKind.STATIC and static is not None
        static_sets[ns] = {f: frozenset(v) for f, v in static.items()} if usable else None
    for label, props in sorted(md.variants.items()):
        if label in legacy_null:
            found.append(
                f"variants.{label}: no properties under a label other than 'null' (a pre-PEP 825 "
                "null variant); treated as the null variant, written as 'null' in schema v0.2.0"
            )
        if len(props) == 1:  # the common case, without grouping and sorting
            prop = props[0]
            items = [((prop.namespace, prop.feature), (prop.value,))]
        else:
            items = sorted(group_by_feature(props).items())
        for (ns, feature), values in items:
            by_feature = static_sets.get(ns)
            if by_feature is None:
                continue
            static = by_feature.get(feature)
            path = f"variants.{label}.{ns}.{feature}"
            if static is None:
                found.append(
                    f"{path}: feature {feature!r} is not in the static properties of {ns!r}; this variant can never be selected"
                )
                continue
            if static.isdisjoint(values):
                found.append(
                    f"{path}: none of {', '.join(values)} is a static property of {ns!r}; this variant can never be selected"
                )
            # spec-digest §3.4: static features are treated as single-value by build tools; the
            # metadata carries no multi_value flag, so readers accept 2+ values (OR) and only note it.
            if len(values) > 1:
                found.append(
                    f"{path}: several values for a static feature (build tools treat static features as single-value)"
                )
    return tuple(found)
