"""Variant properties ``namespace :: feature :: value`` and variant labels (PEP 825 §"Variant properties").

Pure functions and frozen value types; the only spec rules about property syntax and labels live here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from varwheel.errors import InvalidLabel, InvalidProperty

NAMESPACE_RE = re.compile(r"^[a-z0-9_]+$")
FEATURE_RE = re.compile(r"^[a-z0-9_]+$")
VALUE_RE = re.compile(r"^[a-z0-9_.]+$")
# PEP 825 dropped PEP 817's 16-character cap.
LABEL_RE = re.compile(r"^[0-9a-z_.]+$")
NULL_LABEL = "null"

_SPLIT_RE = re.compile(r"\s*::\s*")


def shown(value: object, limit: int = 200) -> str:
    """``repr(value)`` for a one-line message, cut after ``limit`` characters (a hostile
    document may hold megabytes in one string)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}...({len(value)} characters)"
    text = repr(value) if isinstance(value, str) else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _check(kind: str, regex: re.Pattern[str], text: str, exc: type[Exception]) -> str:
    if not isinstance(text, str) or not regex.fullmatch(text):
        raise exc(f"invalid variant {kind} {shown(text)}: must match {regex.pattern}")
    return text


def validate_namespace(text: str) -> str:
    return _check("namespace", NAMESPACE_RE, text, InvalidProperty)


def validate_feature(text: str) -> str:
    return _check("feature name", FEATURE_RE, text, InvalidProperty)


def validate_value(text: str) -> str:
    return _check("feature value", VALUE_RE, text, InvalidProperty)


@dataclass(frozen=True, order=True, slots=True)
class VariantFeature:
    """``namespace :: feature``."""

    namespace: str
    feature: str

    def __str__(self) -> str:
        return f"{self.namespace} :: {self.feature}"

    @classmethod
    def parse(cls, text: str) -> VariantFeature:
        parts = _SPLIT_RE.split(text.strip()) if isinstance(text, str) else []
        if len(parts) != 2:
            raise InvalidProperty(
                f"invalid variant feature {text!r}: expected 'namespace :: feature'"
            )
        return cls(validate_namespace(parts[0]), validate_feature(parts[1]))


@dataclass(frozen=True, order=True, slots=True)
class VariantProperty:
    """One variant property. Orders lexically by (namespace, feature, value), the canonical order."""

    namespace: str
    feature: str
    value: str

    def __str__(self) -> str:
        return f"{self.namespace} :: {self.feature} :: {self.value}"

    @property
    def feature_key(self) -> VariantFeature:
        return VariantFeature(self.namespace, self.feature)

    @classmethod
    def parse(cls, text: str) -> VariantProperty:
        """Parse ``ns :: feature :: value``; whitespace around ``::`` and the ends is ignored."""
        parts = _SPLIT_RE.split(text.strip()) if isinstance(text, str) else []
        if len(parts) != 3:
            raise InvalidProperty(
                f"invalid variant property {text!r}: expected 'namespace :: feature :: value'"
            )
        return cls.make(*parts)

    @classmethod
    def make(cls, namespace: str, feature: str, value: str) -> VariantProperty:
        """Build a property, validating each component."""
        return cls(validate_namespace(namespace), validate_feature(feature), validate_value(value))


def _sort_key(prop: VariantProperty) -> tuple[str, str, str]:
    return (prop.namespace, prop.feature, prop.value)


def canonical_properties(props: Iterable[VariantProperty]) -> tuple[VariantProperty, ...]:
    """Sorted, de-duplicated tuple: the canonical form of a property set."""
    # the same order as the dataclass's, compared as plain tuples (C speed on big documents)
    return tuple(sorted(set(props), key=_sort_key))


def group_by_feature(
    props: Iterable[VariantProperty],
) -> dict[tuple[str, str], tuple[str, ...]]:
    """``(namespace, feature) -> values`` in first-seen order (a wheel's values of one feature)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for prop in props:
        groups.setdefault((prop.namespace, prop.feature), []).append(prop.value)
    return {key: tuple(values) for key, values in groups.items()}


def default_label(props: Iterable[VariantProperty]) -> str:
    """The default label: first 8 hex digits of sha256 over sorted ``"ns :: f :: v\\n"`` lines.

    This is variantlib's convention (not normative); the empty set gets the reserved ``null``.
    """
    canon = canonical_properties(props)
    if not canon:
        return NULL_LABEL
    digest = hashlib.sha256()
    for prop in canon:
        digest.update(f"{prop}\n".encode())
    return digest.hexdigest()[:8]


def validate_label(label: str) -> str:
    """Check the label grammar (PEP 825: ``^[0-9a-z_.]+$``, no length cap)."""
    if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
        raise InvalidLabel(f"invalid variant label {shown(label)}: must match {LABEL_RE.pattern}")
    return label


def check_label_matches(label: str, props: Iterable[VariantProperty]) -> None:
    """``null`` is reserved for the empty property set, and the empty set must use ``null``."""
    validate_label(label)
    empty = not any(True for _ in props)
    if label == NULL_LABEL and not empty:
        raise InvalidLabel("label 'null' is reserved for the variant with no properties")
    if empty and label != NULL_LABEL:
        raise InvalidLabel(f"variant {label!r} has no properties: only label 'null' may be empty")
