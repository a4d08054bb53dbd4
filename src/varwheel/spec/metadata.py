"""Loaders for variant metadata of every schema generation, and the canonical v0.2.0 writer.

Readers: ``load_variant_json`` (a wheel's ``*.dist-info/variant.json``), ``load_variants_json``
(the index-level ``{name}-{version}-variants.json``), ``load_pyproject`` (``[variant]`` of a
parsed pyproject). Unknown keys are ignored (PEP 817 §3.1: tools MUST ignore unknown keys); any
malformed input raises ``InvalidMetadata`` with a dotted path, never a raw Python exception.

Writer: ``dump_json`` emits schema v0.2.0 only (PEP 825: producers MUST NOT output a version they
do not support), indent 4 like variantlib, sorted keys, sorted de-duplicated value lists inside
``variants`` (PEP 825 §"Variants"), trailing newline, byte-identical for equal input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from varwheel.errors import InvalidLabel, InvalidMetadata, InvalidProperty
from varwheel.safeparse import paused_gc
from varwheel.spec.model import (
    SCHEMA_V0_2_0,
    ProviderInfo,
    ProviderKind,
    SchemaGeneration,
    VariantMetadata,
)
from varwheel.spec.properties import (
    NULL_LABEL,
    VALUE_RE,
    VariantProperty,
    canonical_properties,
)
from varwheel.spec.schema import identify_schema, json_type_name
from varwheel.spec.validation import DocumentKind, lint, one_line, validate

__all__ = [
    "Conversion",
    "dump_json",
    "load_document",
    "load_pyproject",
    "load_variant_json",
    "load_variants_json",
    "parse_json",
    "to_v0_2_0",
    "to_v0_2_0_dict",
]

JsonInput = bytes | bytearray | str | Mapping[str, Any]
INDENT = 4

# Provider keys that only one generation has; used to tell the two pyproject [variant] shapes apart.
_PEP817_PROVIDER_KEYS = frozenset({"install-time", "enable-if"})
_V0_2_0_PROVIDER_KEYS = frozenset(
    {"build-requires", "static-properties", "feature-order", "builtin"}
)


# --------------------------------------------------------------------------- typed access


def _expect(value: object, typ: type | tuple[type, ...], what: str, path: str) -> Any:
    # bool is an int subclass: never accept it where a number or string is wanted, and vice versa
    if isinstance(value, typ) and not (isinstance(value, bool) and typ is not bool):
        return value
    raise InvalidMetadata(f"expected {what}, got {json_type_name(value)}", path=path)


def _obj(value: object, path: str) -> Mapping[str, Any]:
    return _expect(value, Mapping, "an object", path)


def _str(value: object, path: str) -> str:
    return _expect(value, str, "a string", path)


def _bool(value: object, path: str) -> bool:
    return _expect(value, bool, "a boolean (true/false)", path)


def _str_list(value: object, path: str) -> tuple[str, ...]:
    items = _expect(value, (list, tuple), "a list of strings", path)
    if all(type(item) is str for item in items):
        return tuple(items)
    return tuple(_str(item, f"{path}[{i}]") for i, item in enumerate(items))


def _opt(obj: Mapping[str, Any], key: str, conv: Any, path: str, default: Any = None) -> Any:
    return conv(obj[key], f"{path}{key}") if key in obj else default


def _feature_lists(value: object, path: str) -> dict[str, tuple[str, ...]]:
    """``{feature: [values...]}`` with order kept (static-properties, property priorities)."""
    return {
        _str(feature, path): _str_list(values, f"{path}.{feature}")
        for feature, values in _obj(value, path).items()
    }


# --------------------------------------------------------------------------- JSON input


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # built in C; the slow search runs only when a key repeats
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidMetadata(f"duplicate key {key!r} in a JSON object")
            seen.add(key)
    return out


def _reject_constant(name: str) -> Any:
    # Python's json reads NaN/Infinity/-Infinity, which RFC 8259 §6 does not allow.
    raise InvalidMetadata(f"not valid JSON: {name} is not a JSON value")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:  # more digits than int() converts: still a number, never a metadata value
        return float(text)


def parse_json(data: bytes | bytearray | str, *, source: str | None = None) -> object:
    """Decode JSON text; ``InvalidMetadata`` for bad UTF-8, a byte order mark, syntax, NaN or
    Infinity, duplicate keys, nesting deeper than the parser can follow."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        if text.startswith("\ufeff"):
            raise InvalidMetadata(
                "starts with a UTF-8 byte order mark, which JSON text must not (RFC 8259 §8.1)"
            )
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_int=_number,
        )
    except InvalidMetadata as err:
        raise err.with_source(source) if source else err from None
    except UnicodeDecodeError as err:
        raise InvalidMetadata(
            f"not UTF-8 text ({err.reason} at byte {err.start})", source=source
        ) from None
    except json.JSONDecodeError as err:
        raise InvalidMetadata(
            f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})", source=source
        ) from None
    except RecursionError:
        raise InvalidMetadata("not valid JSON: nested too deeply", source=source) from None
    except ValueError as err:
        raise InvalidMetadata(f"not valid JSON: {err}", source=source) from None


# --------------------------------------------------------------------------- readers


@dataclass(frozen=True)
class _Shape:
    generation: SchemaGeneration
    schema: str | None
    warnings: tuple[str, ...]
    legacy_priorities: bool  # reads default-priorities.feature / .property
    prefix: str  # "variant." inside pyproject.toml


def _variants(value: object, path: str) -> dict[str, tuple[VariantProperty, ...]]:
    """``variants``: label -> canonical properties. One pass over the document; index files
    repeat the same properties across thousands of labels, so each distinct
    ``(namespace, feature, value)`` is validated once per document, and dotted paths are only
    spelled out for an error."""
    out: dict[str, tuple[VariantProperty, ...]] = {}
    made: dict[tuple[str, str, str], VariantProperty] = {}
    checked: set[tuple[str, str]] = set()  # (namespace, feature) pairs already validated
    for label, by_ns in _obj(value, path).items():
        # exact-type checks first: an ABC isinstance per object costs more than the rest
        if type(label) is not str or not (type(by_ns) is dict or isinstance(by_ns, Mapping)):
            _obj(by_ns, f"{path}.{_str(label, path)}")
        keys: list[tuple[str, str, str]] = []
        for ns, by_feature in by_ns.items():
            if not (type(by_feature) is dict or isinstance(by_feature, Mapping)):
                _obj(by_feature, f"{path}.{label}.{ns}")
            for feature, values in by_feature.items():
                if type(values) is not list or not values:
                    fpath = f"{path}.{label}.{ns}.{feature}"
                    if not _str_list(values, fpath):
                        raise InvalidMetadata(
                            "empty value list: a feature needs at least one value", path=fpath
                        )
                for item in values:
                    if type(item) is not str:
                        _str_list(values, f"{path}.{label}.{ns}.{feature}")
                    key = (ns, feature, item)
                    if key not in made:
                        if (ns, feature) not in checked or not VALUE_RE.fullmatch(item):
                            try:
                                VariantProperty.make(ns, feature, item)
                            except InvalidProperty as err:
                                fpath = f"{path}.{label}.{ns}.{feature}"
                                raise InvalidMetadata(str(err), path=fpath) from None
                            checked.add((ns, feature))
                        made[key] = VariantProperty(ns, feature, item)
                    keys.append(key)
        # canonical order (properties.canonical_properties) on the plain key tuples
        if len(keys) == 1:
            out[label] = (made[keys[0]],)
        else:
            out[label] = tuple(made[key] for key in sorted(set(keys)))
    return dict(sorted(out.items()))


def _provider_v0_2_0(ns: str, raw: object, path: str) -> ProviderInfo:
    _str(ns, path)
    obj = _obj(raw, path)
    p = f"{path}."
    static = (
        _feature_lists(obj["static-properties"], f"{p}static-properties")
        if "static-properties" in obj
        else None
    )
    return ProviderInfo(
        namespace=ns,
        requires=_opt(obj, "requires", _str_list, p, ()),
        build_requires=_opt(obj, "build-requires", _str_list, p, ()),
        static_properties=static,
        feature_order=_opt(obj, "feature-order", _str_list, p, ()),
        builtin=_opt(obj, "builtin", _str, p),
        optional=_opt(obj, "optional", _bool, p, False),
        plugin_api=_opt(obj, "plugin-api", _str, p),
    )


def _provider_pep817(
    ns: str,
    raw: object,
    path: str,
    static: Mapping[str, Mapping[str, tuple[str, ...]]],
    feature_prio: Mapping[str, tuple[str, ...]],
) -> ProviderInfo:
    _str(ns, path)
    obj = _obj(raw, path)
    p = f"{path}."
    install_time = _opt(obj, "install-time", _bool, p, True)
    return ProviderInfo(
        namespace=ns,
        requires=_opt(obj, "requires", _str_list, p, ()),
        # v0.0.3 keeps AoT supported values at top level; the model keeps them on the provider.
        static_properties=static.get(ns),
        feature_order=() if install_time else feature_prio.get(ns, ()),
        optional=_opt(obj, "optional", _bool, p, False),
        plugin_api=_opt(obj, "plugin-api", _str, p),
        enable_if=_opt(obj, "enable-if", _str, p),
        install_time=install_time,
    )


def _build(doc: Mapping[str, Any], shape: _Shape) -> VariantMetadata:
    pre = shape.prefix
    dp = (
        _obj(doc["default-priorities"], f"{pre}default-priorities")
        if "default-priorities" in doc
        else None
    )
    if dp is None or "namespace" not in dp:
        raise InvalidMetadata(
            "missing (a non-empty list of namespaces is required)",
            path=f"{pre}default-priorities.namespace",
        )
    namespaces = _str_list(dp["namespace"], f"{pre}default-priorities.namespace")
    feature_prio: dict[str, tuple[str, ...]] = {}
    property_prio: dict[str, dict[str, tuple[str, ...]]] = {}
    if shape.legacy_priorities:
        fpath = f"{pre}default-priorities.feature"
        if "feature" in dp:
            feature_prio = {
                _str(ns, fpath): _str_list(v, f"{fpath}.{ns}")
                for ns, v in _obj(dp["feature"], fpath).items()
            }
        ppath = f"{pre}default-priorities.property"
        if "property" in dp:
            property_prio = {
                _str(ns, ppath): _feature_lists(v, f"{ppath}.{ns}")
                for ns, v in _obj(dp["property"], ppath).items()
            }
    providers: dict[str, ProviderInfo] = {}
    if shape.generation is not SchemaGeneration.PEP825:
        praw = _obj(doc["providers"], f"{pre}providers") if "providers" in doc else {}
        if shape.generation is SchemaGeneration.PROVIDERS:
            providers = {
                ns: _provider_v0_2_0(ns, raw, f"{pre}providers.{ns}") for ns, raw in praw.items()
            }
        else:
            spath = f"{pre}static-properties"
            static = (
                {
                    _str(ns, spath): _feature_lists(v, f"{spath}.{ns}")
                    for ns, v in _obj(doc["static-properties"], spath).items()
                }
                if "static-properties" in doc
                else {}
            )
            providers = {
                ns: _provider_pep817(ns, raw, f"{pre}providers.{ns}", static, feature_prio)
                for ns, raw in praw.items()
            }
            for ns in static:
                info = providers.get(ns)
                if info is None or info.install_time:
                    raise InvalidMetadata(
                        f"namespace {ns!r} is not an AoT provider (install-time = false)",
                        path=f"{spath}.{ns}",
                    )
    variants: dict[str, tuple[VariantProperty, ...]] = {}
    if "variants" in doc:
        if pre:
            raise InvalidMetadata(
                "pyproject.toml [variant] must not contain variants", path=f"{pre}variants"
            )
        variants = _variants(doc["variants"], "variants")
    return VariantMetadata(
        namespace_priorities=namespaces,
        providers=providers,
        variants=variants,
        feature_priorities=feature_prio,
        property_priorities=property_prio,
        generation=shape.generation,
        schema=shape.schema,
        warnings=shape.warnings,
    )


def _finish(build: Any, kind: DocumentKind, source: str | None) -> VariantMetadata:
    """Run ``build()`` and validation; attach ``source`` to every error and to the result."""
    try:
        md = build()
        validate(md, kind=kind)
    except InvalidMetadata as err:
        err = one_line(err)
        raise (err.with_source(source) if source and not err.source else err) from None
    except (InvalidProperty, InvalidLabel) as err:  # defensive: always reported as metadata errors
        raise InvalidMetadata(str(err), source=source) from None
    return replace(md, source=source, warnings=md.warnings + lint(md))


def load_document(
    data: JsonInput, *, kind: DocumentKind, source: str | None = None
) -> VariantMetadata:
    """Load a JSON variant metadata document (``variant.json`` or ``*-variants.json``)."""
    if kind == "pyproject":
        raise ValueError("use load_pyproject for pyproject.toml")
    with paused_gc():  # index files run to megabytes of small acyclic containers
        return _load_document(data, kind, source)


def _load_document(data: JsonInput, kind: DocumentKind, source: str | None) -> VariantMetadata:
    doc = data if isinstance(data, Mapping) else parse_json(data, source=source)

    def build() -> VariantMetadata:
        top = _expect(doc, Mapping, "a JSON object at the top level", "")
        info = identify_schema(top.get("$schema"))
        shape = _Shape(
            generation=info.generation,
            schema=info.url,
            warnings=info.warnings,
            legacy_priorities=info.generation is SchemaGeneration.PEP817
            or (info.generation is SchemaGeneration.PEP825 and info.version == (0, 1, 0)),
            prefix="",
        )
        return _build(top, shape)

    return _finish(build, kind, source)


def load_variant_json(data: JsonInput, *, source: str | None = None) -> VariantMetadata:
    """A wheel's ``*.dist-info/variant.json``: exactly one variant."""
    return load_document(data, kind="variant.json", source=source)


def load_wheel_variant_json(
    data: JsonInput, label: str | None, *, source: str | None = None
) -> VariantMetadata:
    """A wheel's ``variant.json`` checked against ``label``, the label in the wheel's file name
    (None for a name without one). PEP 825 §"Variants": its single key is that label."""
    md = load_variant_json(data, source=source)
    (declared,) = md.variants
    if label is None:
        raise InvalidMetadata(
            f"describes variant {declared!r} but the file name has no variant label",
            path="variants",
            source=source,
        )
    if declared != label:
        raise InvalidMetadata(
            f"names variant {declared!r} but the file name has label {label!r}",
            path="variants",
            source=source,
        )
    return md


def load_variants_json(data: JsonInput, *, source: str | None = None) -> VariantMetadata:
    """An index-level ``{name}-{version}-variants.json``: any number of variants."""
    return load_document(data, kind="variants.json", source=source)


def _pyproject_generation(table: Mapping[str, Any]) -> SchemaGeneration:
    """Tell the PEP 817 ``[variant]`` shape from the v0.2.0 one by the keys only one of them has."""
    providers = table.get("providers")
    keys: set[str] = set()
    if isinstance(providers, Mapping):
        for entry in providers.values():
            if isinstance(entry, Mapping):
                keys.update(k for k in entry if isinstance(k, str))
    dp = table.get("default-priorities")
    legacy = bool(keys & _PEP817_PROVIDER_KEYS) or "static-properties" in table
    legacy = legacy or (isinstance(dp, Mapping) and ("feature" in dp or "property" in dp))
    modern = bool(keys & _V0_2_0_PROVIDER_KEYS)
    if legacy and modern:
        raise InvalidMetadata(
            "mixes PEP 817 keys (install-time, enable-if, top-level static-properties, "
            "default-priorities.feature/property) with v0.2.0 provider keys "
            "(build-requires, static-properties, feature-order, builtin)",
            path="variant",
        )
    return SchemaGeneration.PEP817 if legacy else SchemaGeneration.PROVIDERS


def load_pyproject(doc: Mapping[str, Any], *, source: str | None = None) -> VariantMetadata:
    """Read ``[variant]`` from a parsed ``pyproject.toml`` (either shape; no ``variants``)."""

    def build() -> VariantMetadata:
        top = _expect(doc, Mapping, "a TOML document", "")
        if "variant" not in top:
            raise InvalidMetadata("no [variant] table", path="variant")
        table = _obj(top["variant"], "variant")
        generation = _pyproject_generation(table)
        shape = _Shape(generation, None, (), generation is SchemaGeneration.PEP817, "variant.")
        return _build(table, shape)

    return _finish(build, "pyproject", source)


# --------------------------------------------------------------------------- writer


@dataclass(frozen=True)
class Conversion:
    """A v0.2.0 document and what could not be carried over from the source generation."""

    document: dict[str, Any]
    warnings: tuple[str, ...]


def _fold_values(priority: tuple[str, ...], static: tuple[str, ...]) -> list[str]:
    # spec-digest §6.4 step 3: listed values first, then the provider's (static) order.
    # Listed values that are not static are never supported, so leaving them out changes nothing.
    static_set, listed = frozenset(static), frozenset(priority)
    return [v for v in priority if v in static_set] + [v for v in static if v not in listed]


def _static_entry(md: VariantMetadata, ns: str, info: ProviderInfo) -> dict[str, Any]:
    static = dict(info.static_properties or {})
    if md.generation is SchemaGeneration.PEP817:
        prio = md.property_priorities.get(ns, {})
        values = {f: _fold_values(prio.get(f, ()), vals) for f, vals in static.items()}
        # §6.4 step 2: default-priorities.feature first, then the static-properties order.
        listed = [f for f in md.feature_priorities.get(ns, ()) if f in static]
        seen = frozenset(listed)
        order = listed + [f for f in static if f not in seen] if len(static) > 1 else []
    else:
        values = {f: list(vals) for f, vals in static.items()}
        order = list(info.feature_order)
    entry: dict[str, Any] = {"static-properties": values}
    if len(static) > 1 or order:
        entry["feature-order"] = order
    return entry


def to_v0_2_0(md: VariantMetadata) -> Conversion:
    """Express ``md`` in schema v0.2.0, folding PEP 817 priorities where v0.2.0 can hold them.

    What v0.2.0 cannot express and that changes selection (``enable-if``, feature/property
    priorities of plugin providers) is reported in ``warnings``, never dropped silently; so is a
    legacy null label (``00000000``), which is written as ``null``.
    """
    if md.generation is SchemaGeneration.PEP825:
        raise InvalidMetadata(
            "schema v0.1.x metadata carries no provider information, so it cannot be written as v0.2.0",
            source=md.source,
        )
    warnings: list[str] = []
    legacy = md.generation is SchemaGeneration.PEP817
    providers: dict[str, Any] = {}
    for ns in sorted(md.providers):
        info = md.providers[ns]
        kind = info.kind
        entry: dict[str, Any]
        if kind is ProviderKind.BUILTIN:
            entry = {"builtin": info.builtin}
        elif kind is ProviderKind.STATIC and info.static_properties is not None:
            entry = _static_entry(md, ns, info)
        else:
            # a PEP 817 pyproject AoT provider with a plugin is v0.2.0's build-requires
            key = "requires" if kind is ProviderKind.INSTALL_TIME else "build-requires"
            entry = {key: list(info.build_requires or info.requires)}
            if info.plugin_api is not None:
                entry["plugin-api"] = info.plugin_api
        if info.optional:
            entry["optional"] = True
        providers[ns] = entry
        if not legacy:
            continue
        if info.enable_if is not None:
            warnings.append(
                f"providers.{ns}.enable-if {info.enable_if!r} cannot be expressed in schema v0.2.0: "
                "the provider would be used on every platform"
            )
        if kind is not ProviderKind.STATIC:
            if md.feature_priorities.get(ns):
                warnings.append(
                    f"default-priorities.feature.{ns} {list(md.feature_priorities[ns])} cannot be expressed "
                    "in schema v0.2.0 for a plugin provider: the plugin's feature order would apply"
                )
            if any(md.property_priorities.get(ns, {}).values()):
                warnings.append(
                    f"default-priorities.property.{ns} cannot be expressed in schema v0.2.0 for a plugin "
                    "provider: the plugin's value order would apply"
                )
    legacy_null = md.legacy_null_labels
    variants = {
        label: _variant_tree(props)
        for label, props in sorted(md.variants.items())
        if label not in legacy_null
    }
    for label in sorted(legacy_null):
        # PEP 825 §"Variant label": 'null' is the empty property set's label, and only its.
        variants[NULL_LABEL] = {}
        warnings.append(
            f"variants.{label}: the pre-PEP 825 null variant label {label!r} is written as 'null' "
            "(schema v0.2.0 reserves 'null' for the empty property set); wheels named "
            f"'...-{label}.whl' are this null variant and match the v0.2.0 metadata only once "
            "renamed to '...-null.whl'"
        )
    document = {
        "$schema": SCHEMA_V0_2_0,
        "default-priorities": {"namespace": list(md.namespace_priorities)},
        "providers": providers,
        "variants": variants,
    }
    return Conversion(document, tuple(warnings))


def _variant_tree(props: tuple[VariantProperty, ...]) -> dict[str, dict[str, list[str]]]:
    tree: dict[str, dict[str, list[str]]] = {}
    for prop in canonical_properties(props):
        tree.setdefault(prop.namespace, {}).setdefault(prop.feature, []).append(prop.value)
    return tree


def to_v0_2_0_dict(md: VariantMetadata) -> dict[str, Any]:
    """The v0.2.0 document for ``md`` (see ``to_v0_2_0`` for the conversion warnings)."""
    return to_v0_2_0(md).document


def _serialize(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=INDENT, sort_keys=True, ensure_ascii=True) + "\n").encode(
        "ascii"
    )


def dump_json(md: VariantMetadata) -> bytes:
    """Canonical v0.2.0 JSON bytes for ``md``; re-read through our own loader before returning."""
    document = to_v0_2_0(md).document
    has_build_requires = any(p.kind is ProviderKind.AOT_PLUGIN for p in md.providers.values())
    if has_build_requires and md.variants:
        raise InvalidMetadata(
            "build-requires providers must be resolved to static-properties before writing variant metadata",
            source=md.source,
        )
    kind: DocumentKind = "pyproject" if has_build_requires else "variants.json"
    try:
        with paused_gc():
            shape = _Shape(SchemaGeneration.PROVIDERS, SCHEMA_V0_2_0, (), False, "")
            validate(_build(document, shape), kind=kind)
    except InvalidMetadata as err:
        raise InvalidMetadata(
            f"refusing to write invalid metadata: {err}", source=md.source
        ) from None
    return _serialize(document)
