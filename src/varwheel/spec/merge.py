"""Combining variant metadata of one release (per-wheel ``variant.json`` files, index files).

PEP 825 §"Metadata consistency": namespace lists must be equal or one a prefix of the other (the
result is the longer); the same label must map to the same properties (the result is the union).
PEP 817 §"Generating *-variants.json" adds: common ``providers`` / ``static-properties`` keys must
be equal, and feature/property priorities may only be added for namespaces a list newly appends.
The result does not depend on input order, and nothing is returned unless every input agrees
(variantlib 0.2.2 logs the conflict and writes the file anyway: peers.md §5 item 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from varwheel.errors import InvalidMetadata, MergeConflict
from varwheel.spec.model import SchemaGeneration, VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.spec.schema import identify_schema
from varwheel.spec.validation import validate

__all__ = ["merge_metadata"]

T = TypeVar("T")

_UNNAMED = "<unnamed input>"


def _name(md: VariantMetadata) -> str:
    return md.source or _UNNAMED


def _conflict(key: str, a: VariantMetadata, b: VariantMetadata, detail: str) -> MergeConflict:
    return MergeConflict(
        f"cannot merge variant metadata: {key} differs between {_name(a)} and {_name(b)} ({detail})"
    )


def _is_prefix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) <= len(long) and long[: len(short)] == short


def _merge_namespaces(docs: list[VariantMetadata]) -> tuple[str, ...]:
    longest = max(docs, key=lambda md: len(md.namespace_priorities))
    for md in docs:
        if not _is_prefix(md.namespace_priorities, longest.namespace_priorities):
            raise _conflict(
                "default-priorities.namespace",
                md,
                longest,
                f"{list(md.namespace_priorities)} vs {list(longest.namespace_priorities)}: "
                "one list must start with the other",
            )
    return longest.namespace_priorities


def _merge_keyed(
    docs: list[VariantMetadata],
    section: str,
    get: Callable[[VariantMetadata], Mapping[str, T]],
    show: Callable[[T], Any] = repr,
) -> dict[str, T]:
    """Union of ``get(md)`` over all inputs; a key present in two inputs must have equal values."""
    merged: dict[str, tuple[T, VariantMetadata]] = {}
    for md in docs:
        for key, value in get(md).items():
            seen = merged.get(key)
            if seen is None:
                merged[key] = (value, md)
            elif seen[0] != value:
                raise _conflict(
                    f"{section}.{key}", seen[1], md, f"{show(seen[0])} vs {show(value)}"
                )
    return {key: merged[key][0] for key in sorted(merged)}


def _show_props(props: tuple[VariantProperty, ...]) -> str:
    return "[" + ", ".join(str(p) for p in props) + "]" if props else "no properties"


def _merge_legacy(
    docs: list[VariantMetadata],
    section: str,
    get: Callable[[VariantMetadata], Mapping[str, T]],
    empty: T,
) -> dict[str, T]:
    """PEP 817 feature/property priorities: for every namespace, each input listing that namespace
    (or giving priorities for it) must agree; a namespace appended later may bring new entries."""
    namespaces = sorted({ns for md in docs for ns in (*md.namespace_priorities, *get(md))})
    out: dict[str, T] = {}
    for ns in namespaces:
        holders = [md for md in docs if ns in md.namespace_priorities or ns in get(md)]
        first = holders[0]
        value = get(first).get(ns, empty)
        for md in holders[1:]:
            other = get(md).get(ns, empty)
            if other != value:
                raise _conflict(f"{section}.{ns}", first, md, f"{value!r} vs {other!r}")
        if value != empty:
            out[ns] = value
    return out


def _schema_key(url: str | None) -> tuple[tuple[int, int, int], str]:
    if url is None:
        return ((-1, -1, -1), "")
    try:
        version = identify_schema(url).version
    except InvalidMetadata:
        version = None
    return (version or (0, 0, 0), url)


def merge_metadata(docs: Iterable[VariantMetadata]) -> VariantMetadata:
    """Combine the metadata of one release; raise ``MergeConflict`` naming both sources."""
    # sorted by source so that any error message and the result do not depend on input order
    items = sorted(docs, key=lambda md: (md.source or "", md.schema or ""))
    if not items:
        raise InvalidMetadata("no variant metadata to merge")
    generations = {md.generation for md in items}
    if len(generations) > 1:
        a = items[0]
        b = next(md for md in items if md.generation is not a.generation)
        raise _conflict("$schema", a, b, f"{a.schema or 'pyproject'} vs {b.schema or 'pyproject'}")
    generation = items[0].generation
    namespaces = _merge_namespaces(items)
    providers = _merge_keyed(items, "providers", lambda md: md.providers)
    variants = _merge_keyed(items, "variants", lambda md: md.variants, _show_props)
    feature_prio: dict[str, tuple[str, ...]] = {}
    property_prio: dict[str, Mapping[str, tuple[str, ...]]] = {}
    if generation is not SchemaGeneration.PROVIDERS:
        feature_prio = _merge_legacy(
            items, "default-priorities.feature", lambda md: md.feature_priorities, ()
        )
        property_prio = _merge_legacy(
            items,
            "default-priorities.property",
            lambda md: {ns: dict(v) for ns, v in md.property_priorities.items()},
            {},
        )
    sources = sorted({md.source for md in items if md.source})
    merged = VariantMetadata(
        namespace_priorities=namespaces,
        providers=providers,
        variants=variants,
        feature_priorities=feature_prio,
        property_priorities=property_prio,
        generation=generation,
        schema=max((md.schema for md in items), key=_schema_key),
        source=", ".join(sources) if sources else None,
        warnings=tuple(sorted({w for md in items for w in md.warnings})),
    )
    try:
        validate(merged, kind="variants.json")
    except InvalidMetadata as err:
        raise MergeConflict(
            f"cannot merge variant metadata of {merged.source or _UNNAMED}: {err}"
        ) from None
    return merged
