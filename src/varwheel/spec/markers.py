"""Variant environment markers (PEP 817 / PEP 825 "Environment markers") on stock ``packaging``.

``variant_namespaces``, ``variant_features`` and ``variant_properties`` are sets matched only as
``"<literal>" in|not in variant_*``; ``variant_label`` is a string compared like any other string
marker. Stock ``packaging`` rejects these names, so a marker is split here into its boolean
structure: variant atoms are evaluated by this module, every other atom is parsed and evaluated by
``packaging.markers.Marker`` unchanged, and the results are combined with PEP 508 precedence
(``and`` binds tighter than ``or``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from packaging.markers import InvalidMarker as PackagingInvalidMarker
from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from varwheel.errors import InvalidMarker, InvalidProperty
from varwheel.safeparse import too_long_number_reason
from varwheel.spec.properties import (
    NULL_LABEL,
    VariantFeature,
    VariantProperty,
    validate_label,
    validate_namespace,
)

NAMESPACES = "variant_namespaces"
FEATURES = "variant_features"
PROPERTIES = "variant_properties"
LABEL = "variant_label"
SET_MARKERS = frozenset({NAMESPACES, FEATURES, PROPERTIES})
MAX_NESTING = 64

# ``variant_label`` atoms are rewritten onto a stock plain-string marker variable so that they
# compare exactly like every other string marker in the installed ``packaging``.
_LABEL_STANDIN = "platform_machine"

_TOKEN_RE = re.compile(
    r"""[ \t]*(?:
        (?P<lp>\() | (?P<rp>\)) |
        (?P<str>'[^']*'|"[^"]*") |
        (?P<op>===|==|~=|!=|<=|>=|<|>) |
        (?P<word>[A-Za-z0-9_.]+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and": "and", "or": "or", "in": "in", "not": "not"}


@dataclass(frozen=True)
class VariantEnvironment:
    """What the variant markers see for one selected wheel.

    ``label`` is ``""`` for a non-variant wheel and ``"null"`` for the null variant; both have no
    properties. Under PEP 825 ``properties`` are the wheel's properties filtered to those the
    target supports (see ``for_wheel``); namespaces and features derive from them.
    """

    label: str
    properties: frozenset[VariantProperty] = frozenset()
    namespaces: frozenset[str] = field(init=False, repr=False, compare=False)
    features: frozenset[VariantFeature] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.label:
            validate_label(self.label)
        props = frozenset(self.properties)
        object.__setattr__(self, "properties", props)
        object.__setattr__(self, "namespaces", frozenset(p.namespace for p in props))
        object.__setattr__(self, "features", frozenset(p.feature_key for p in props))

    @classmethod
    def non_variant(cls) -> VariantEnvironment:
        return cls("")

    @classmethod
    def null(cls) -> VariantEnvironment:
        return cls(NULL_LABEL)

    @classmethod
    def for_wheel(
        cls,
        label: str | None,
        properties: Iterable[VariantProperty],
        supported: SupportedTable | None = None,
    ) -> VariantEnvironment:
        """Environment of a selected wheel; ``supported`` given = PEP 825 filtering."""
        if label is None:
            return cls.non_variant()
        props = (
            frozenset(properties) if supported is None else filter_supported(properties, supported)
        )
        return cls(label, props)


class _HasProperties(Protocol):
    @property
    def properties(self) -> Mapping[str, Mapping[str, Sequence[str]]]: ...


SupportedTable = Mapping[str, Mapping[str, Sequence[str]]] | _HasProperties


def filter_supported(
    props: Iterable[VariantProperty], supported: SupportedTable
) -> frozenset[VariantProperty]:
    """PEP 825 "Environment markers": keep the properties whose value the target supports.

    ``supported`` is ``{namespace: {feature: values}}`` or an object with that as ``.properties``
    (``selection.SupportedProperties``).
    """
    table = supported if isinstance(supported, Mapping) else supported.properties
    kept = []
    for prop in props:
        values = table.get(prop.namespace, {}).get(prop.feature, ())
        if prop.value in values:
            kept.append(prop)
    return frozenset(kept)


# --- parsed marker tree -------------------------------------------------------------------------


class _Syntax(Exception):
    """Internal: why a marker is invalid; wrapped into ``InvalidMarker`` naming the input."""


@dataclass(frozen=True, eq=False)
class _Plain:
    marker: Marker

    def evaluate(self, env: Mapping[str, str], variant: VariantEnvironment) -> bool:
        return self.marker.evaluate(env)


@dataclass(frozen=True, eq=False)
class _Label:
    marker: Marker  # the atom with ``variant_label`` replaced by ``_LABEL_STANDIN``

    def evaluate(self, env: Mapping[str, str], variant: VariantEnvironment) -> bool:
        return self.marker.evaluate({_LABEL_STANDIN: variant.label})


@dataclass(frozen=True, eq=False)
class _InSet:
    variable: str
    item: str | VariantFeature | VariantProperty
    negated: bool

    def evaluate(self, env: Mapping[str, str], variant: VariantEnvironment) -> bool:
        if self.variable == NAMESPACES:
            found = self.item in variant.namespaces
        elif self.variable == FEATURES:
            found = self.item in variant.features
        else:
            found = self.item in variant.properties
        return found != self.negated


@dataclass(frozen=True, eq=False)
class _BoolOp:
    is_and: bool
    children: tuple[_Node, ...]

    def evaluate(self, env: Mapping[str, str], variant: VariantEnvironment) -> bool:
        # No short-circuit: like packaging, every atom is evaluated so errors always surface.
        results = [child.evaluate(env, variant) for child in self.children]
        return all(results) if self.is_and else any(results)


_Node = _Plain | _Label | _InSet | _BoolOp


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # lp rp str op word and or in not
    text: str
    start: int
    end: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    end = len(text.rstrip(" \t"))
    while pos < end:
        match = _TOKEN_RE.match(text, pos, end)
        if match is None:
            pos = len(text) - len(text[pos:].lstrip(" \t"))
            raise _Syntax(f"unexpected {text[pos : pos + 10]!r} at position {pos}")
        group = match.lastgroup or ""
        value = match.group(group)
        kind = _KEYWORDS.get(value, "word") if group == "word" else group
        tokens.append(_Token(kind, value, match.start(group), match.end()))
        pos = match.end()
    return tokens


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _packaging_marker(text: str, *, part: bool = True) -> Marker:
    try:
        return Marker(text)
    except PackagingInvalidMarker as exc:
        where = f"in {text!r}: " if part else ""
        raise _Syntax(f"{where}{_first_line(exc)}") from None


def _set_item(variable: str, literal: str) -> str | VariantFeature | VariantProperty:
    # PEP 817/825: whitespace differences are ignored, so literals are canonicalised.
    try:
        if variable == NAMESPACES:
            return validate_namespace(literal.strip())
        if variable == FEATURES:
            return VariantFeature.parse(literal)
        return VariantProperty.parse(literal)
    except InvalidProperty as exc:
        raise _Syntax(f"bad literal for {variable}: {exc}") from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> _Node:
        if not self.tokens:
            raise _Syntax("empty marker")
        node = self._or(0)
        if self.pos != len(self.tokens):
            tok = self.tokens[self.pos]
            raise _Syntax(f"unexpected {tok.text!r} at position {tok.start}")
        return node

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> _Token:
        tok = self._peek()
        if tok is None:
            raise _Syntax("unexpected end of marker")
        self.pos += 1
        return tok

    def _or(self, depth: int) -> _Node:
        return self._chain("or", self._and, depth)

    def _and(self, depth: int) -> _Node:
        return self._chain("and", self._atom, depth)

    def _chain(self, keyword: str, operand: Callable[[int], _Node], depth: int) -> _Node:
        """``operand (keyword operand)*``: ``and`` binds tighter than ``or`` (PEP 508)."""
        children = [operand(depth)]
        while (tok := self._peek()) is not None and tok.kind == keyword:
            self.pos += 1
            children.append(operand(depth))
        return children[0] if len(children) == 1 else _BoolOp(keyword == "and", tuple(children))

    def _atom(self, depth: int) -> _Node:
        tok = self._take()
        if tok.kind == "lp":
            if depth >= MAX_NESTING:
                raise _Syntax(f"parentheses nested deeper than {MAX_NESTING}")
            node = self._or(depth + 1)
            close = self._take()
            if close.kind != "rp":
                raise _Syntax(f"expected ')' at position {close.start}, got {close.text!r}")
            return node
        return self._item(tok)

    def _value(self, tok: _Token) -> _Token:
        if tok.kind not in ("str", "word"):
            raise _Syntax(
                f"expected a marker variable or quoted string at position {tok.start}, "
                f"got {tok.text!r}"
            )
        return tok

    def _item(self, first: _Token) -> _Node:
        lhs = self._value(first)
        op_tok = self._take()
        if op_tok.kind == "not":
            in_tok = self._take()
            if in_tok.kind != "in":
                raise _Syntax(f"expected 'in' after 'not' at position {in_tok.start}")
            op = "not in"
        elif op_tok.kind in ("op", "in"):
            op = op_tok.text
        else:
            raise _Syntax(f"expected a comparison operator at position {op_tok.start}")
        rhs = self._value(self._take())
        names = {t.text for t in (lhs, rhs) if t.kind == "word"}
        if names & SET_MARKERS:
            return self._set_atom(lhs, op, rhs)
        if LABEL in names:
            return self._label_atom(lhs, op, rhs)
        return _Plain(_packaging_marker(self.text[lhs.start : rhs.end]))

    @staticmethod
    def _set_atom(lhs: _Token, op: str, rhs: _Token) -> _Node:
        variable = rhs.text if rhs.kind == "word" and rhs.text in SET_MARKERS else lhs.text
        # PEP 817 "Environment markers": set markers are matched only via ``in`` / ``not in``
        # with the string on the left.
        if op not in ("in", "not in"):
            raise _Syntax(f"{variable} is a set: use '\"...\" in {variable}', not {op!r}")
        if lhs.kind != "str" or rhs.text != variable:
            raise _Syntax(f"{variable} must be on the right of {op!r} with a quoted string left")
        return _InSet(variable, _set_item(variable, lhs.text[1:-1]), op == "not in")

    @staticmethod
    def _label_atom(lhs: _Token, op: str, rhs: _Token) -> _Node:
        if lhs.kind == rhs.kind:
            raise _Syntax(f"{LABEL} must be compared with a quoted string")
        left = _LABEL_STANDIN if lhs.kind == "word" else lhs.text
        right = _LABEL_STANDIN if rhs.kind == "word" else rhs.text
        return _Label(_packaging_marker(f"{left} {op} {right}"))


@lru_cache(maxsize=4096)
def _parse_marker(text: str) -> _Node:
    # Plain markers go to packaging whole; deep nesting goes through our depth-limited parser,
    # since packaging's recursive descent would hit RecursionError.
    if "variant_" not in text and text.count("(") <= MAX_NESTING:
        return _Plain(_packaging_marker(text, part=False))
    return _Parser(text).parse()


def _evaluate(
    node: _Node, environment: Mapping[str, str], variant: VariantEnvironment, what: str
) -> bool:
    try:
        return node.evaluate(environment, variant)
    except UndefinedComparison as exc:
        raise InvalidMarker(f"cannot evaluate marker of {what}: {_first_line(exc)}") from None
    except UndefinedEnvironmentName as exc:
        raise InvalidMarker(
            f"cannot evaluate marker of {what}: unknown environment name {_first_line(exc)}"
        ) from None
    except ValueError as exc:  # a version packaging cannot turn into integers (digit limit)
        raise InvalidMarker(f"cannot evaluate marker of {what}: {_first_line(exc)}") from None


def _refuse_long_numbers(text: str, what: str) -> None:
    # packaging compares versions as integers: a number past int()'s digit limit would raise a
    # bare ValueError wherever the marker or specifier is evaluated later
    reason = too_long_number_reason(text)
    if reason is not None:
        raise InvalidMarker(f"invalid {what} {_short(text)}: holds {reason}")


def _short(text: str, limit: int = 200) -> str:
    """``repr(text)``, cut to ``limit`` characters for one-line messages."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"...({len(text)} chars)"


def evaluate_marker(
    marker: str, environment: Mapping[str, str], variant: VariantEnvironment
) -> bool:
    """Evaluate a PEP 508 marker that may use variant markers.

    ``environment`` overrides ``packaging``'s default environment (include ``extra`` there).
    """
    if not isinstance(marker, str):
        raise InvalidMarker(f"invalid marker {marker!r}: not a string")
    _refuse_long_numbers(marker, "marker")
    try:
        node = _parse_marker(marker)
    except _Syntax as exc:
        raise InvalidMarker(f"invalid marker {marker!r}: {exc}") from None
    return _evaluate(node, environment, variant, repr(marker))


def _split_requirement(text: str) -> tuple[str, str | None]:
    """Split a Requires-Dist line at the ``;`` that starts its marker (PEP 508 grammar)."""
    at = text.find("@")
    start = 0
    while (semi := text.find(";", start)) != -1:
        # After a URL the marker separator must be preceded by whitespace (PEP 508 url_req).
        if at == -1 or semi < at or text[semi - 1] in " \t":
            return text[:semi], text[semi + 1 :]
        start = semi + 1
    return text, None


def requirement_applies(
    req_text: str,
    environment: Mapping[str, str],
    variant: VariantEnvironment,
    extras: Collection[str] = frozenset(),
) -> Requirement | None:
    """The requirement of a Requires-Dist line, without its marker, when the marker holds.

    With ``extras`` the marker is tried with ``extra`` set to ``""`` and to each requested extra.
    """
    if not isinstance(req_text, str):
        raise InvalidMarker(f"invalid requirement {req_text!r}: not a string")
    _refuse_long_numbers(req_text, "requirement")
    req_part, marker_text = _split_requirement(req_text)
    try:
        requirement = Requirement(req_part)
    except InvalidRequirement as exc:
        raise InvalidMarker(f"invalid requirement {req_text!r}: {_first_line(exc)}") from None
    if marker_text is None:
        return requirement
    try:
        node = _parse_marker(marker_text.strip())
    except _Syntax as exc:
        raise InvalidMarker(f"invalid marker in requirement {req_text!r}: {exc}") from None
    what = f"requirement {req_text!r}"
    if not extras:
        applies = _evaluate(node, environment, variant, what)
    else:
        applies = any(
            _evaluate(node, {**environment, "extra": extra}, variant, what)
            for extra in ("", *sorted(extras))
        )
    return requirement if applies else None
