"""Order the compatible variants of one package version (PEP 825 §"Variant ordering").

Namespace order comes from ``default-priorities.namespace``; feature order per namespace is PEP 817
``default-priorities.feature``, then the provider's ``feature_order``, then the supported order
(de-duplicated append); value order is PEP 817 ``default-priorities.property``, then the supported
order. Each compatible variant gets, per feature, the (ns, feature, value) index triple of its BEST
SUPPORTED value only (PEP 825; a listed but unsupported value never boosts). Keys are sorted and
compared element-wise, lower first; on a prefix tie the longer key wins; the last tie-break is the
label, ascending. The null variant (empty key) sorts after every other variant.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from varwheel.codes import ReasonCode
from varwheel.errors import InvalidProperty
from varwheel.spec.compat import Reason, SupportedProperties, failure_reason, first_failure
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import (
    NULL_LABEL,
    VariantProperty,
    validate_feature,
    validate_namespace,
    validate_value,
)

# Closes every flat sort key: sorts after any namespace index, so a key that is a strict
# prefix of another sorts later (PEP 825: on a prefix tie the variant with more properties wins).
_END = sys.maxsize

Triple = tuple[int, int, int]


@dataclass(frozen=True)
class Preferences:
    """User overrides. PEP 825 §"Overriding variant ordering": they may reorder or narrow the
    compatible set but never select an unsupported wheel, except ``force_variant`` (PEP 817 lets an
    installer install a named variant without verification, as an explicit opt-in).

    - ``prefer``: each property's namespace, feature and value move to the front of their orders,
      in the order given (a preferred value the target does not support still never matches);
    - ``forbid``: ``ns``, ``ns :: f`` or ``ns :: f :: v``; a variant with any matching property is
      rejected (even if other values of that feature are supported);
    - ``variant``: only that label is considered; when it is incompatible it is returned rejected
      with its reason, and the caller reports the error; ``force_variant`` ranks it anyway;
    - ``variants_enabled=False``: every labelled wheel is rejected (PEP 817: non-variant only mode).
    """

    prefer: tuple[VariantProperty, ...] = ()
    forbid: tuple[str, ...] = ()
    variant: str | None = None
    force_variant: bool = False
    variants_enabled: bool = True


DEFAULT_PREFERENCES = Preferences()


@dataclass(frozen=True, slots=True)
class RankedVariant:
    """A compatible variant. ``sort_key`` is its (ns, feature, value) index triples, one per feature,
    sorted and flattened, closed by ``_END``; ``key`` gives the triples back, and
    ``key_properties[i]`` is the best supported property behind ``key[i]``. Both are derived on
    demand (``explain``), which keeps ranking thousands of variants cheap."""

    label: str
    properties: tuple[VariantProperty, ...]
    sort_key: tuple[int, ...] = (_END,)
    forced: bool = False
    order: PropertyOrder | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[Triple, ...]:
        flat = self.sort_key[:-1]
        return tuple(zip(flat[0::3], flat[1::3], flat[2::3], strict=True))

    @property
    def key_properties(self) -> tuple[VariantProperty, ...]:
        if self.order is None:
            return ()
        best: dict[tuple[int, int], tuple[Triple, VariantProperty]] = {}
        for prop in self.properties:
            idx = self.order.index(prop)
            if idx is not None and (idx[:2] not in best or idx < best[idx[:2]][0]):
                best[idx[:2]] = (idx, prop)
        return tuple(prop for _, prop in sorted(best.values(), key=_first))


def _first(item: tuple[Triple, VariantProperty]) -> Triple:
    return item[0]


@dataclass(frozen=True, slots=True)
class RejectedVariant:
    label: str
    reason: Reason


@dataclass(frozen=True)
class VariantRanking:
    ranked: tuple[RankedVariant, ...]
    rejected: tuple[RejectedVariant, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(rv.label for rv in self.ranked)


@dataclass(frozen=True)
class ForbidPattern:
    """``ns``, ``ns :: f`` or ``ns :: f :: v`` from ``--forbid``."""

    text: str
    namespace: str
    feature: str | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> ForbidPattern:
        parts = [p.strip() for p in text.split("::")]
        if not 1 <= len(parts) <= 3:
            raise InvalidProperty(
                f"invalid forbid pattern {text!r}: expected 'ns', 'ns :: feature' or "
                "'ns :: feature :: value'"
            )
        try:
            ns = validate_namespace(parts[0])
            feature = validate_feature(parts[1]) if len(parts) > 1 else None
            value = validate_value(parts[2]) if len(parts) > 2 else None
        except InvalidProperty as exc:
            raise InvalidProperty(f"invalid forbid pattern {text!r}: {exc}") from exc
        return cls(" :: ".join(parts), ns, feature, value)

    def matches(self, prop: VariantProperty) -> bool:
        return (
            prop.namespace == self.namespace
            and (self.feature is None or prop.feature == self.feature)
            and (self.value is None or prop.value == self.value)
        )


@dataclass(frozen=True)
class PropertyOrder:
    """Index maps for one (metadata, support, preferences):
    ``table[ns][feature] = ((ns_idx, feature_idx), {supported value: value_idx})``.
    Only supported values get an index, so a listed but unsupported value can never boost."""

    table: Mapping[str, Mapping[str, tuple[tuple[int, int], Mapping[str, int]]]]

    def index(self, prop: VariantProperty) -> Triple | None:
        entry = self.table.get(prop.namespace, {}).get(prop.feature)
        if entry is None or prop.value not in entry[1]:
            return None
        return (*entry[0], entry[1][prop.value])


def _dedup(*sources: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for source in sources for item in source))


def build_order(
    md: VariantMetadata, supported: SupportedProperties, prefer: Iterable[VariantProperty] = ()
) -> PropertyOrder:
    prefer = tuple(prefer)
    namespaces = _dedup(
        (p.namespace for p in prefer), md.namespace_priorities, supported.properties
    )
    ns_index = {ns: i for i, ns in enumerate(namespaces)}
    table: dict[str, dict[str, tuple[tuple[int, int], Mapping[str, int]]]] = {}
    for ns, features in supported.properties.items():
        provider = md.providers.get(ns)
        feature_order = _dedup(
            (p.feature for p in prefer if p.namespace == ns),
            md.feature_priorities.get(ns, ()),
            provider.feature_order if provider is not None else (),
            features,
        )
        prop_prio = md.property_priorities.get(ns, {})
        ns_table = table[ns] = {}
        for f_idx, feature in enumerate(feature_order):
            values = features.get(feature)
            if not values:
                continue
            listed = [p.value for p in prefer if p.namespace == ns and p.feature == feature]
            listed += prop_prio.get(feature, ())
            if listed:
                allowed = set(values)
                values = tuple(v for v in _dedup(listed, values) if v in allowed)
            ns_table[feature] = ((ns_index[ns], f_idx), {v: i for i, v in enumerate(values)})
    return PropertyOrder(table)


def variant_key(props: Iterable[VariantProperty], order: PropertyOrder) -> tuple[int, ...] | None:
    """The flat sort key of a variant, or ``None`` when it is incompatible.

    Per feature, the (ns_idx, feature_idx, value_idx) of its BEST supported value (PEP 825);
    triples sorted, flattened and closed with ``_END``. Hot path of ranking: plain dict lookups,
    few allocations, no per-comparison work. An unsupported value gets the index ``_END``, so any
    supported value of the same feature beats it, and a feature left at ``_END`` is unsupported.
    """
    table = order.table
    best: dict[tuple[int, int], int] = {}
    for prop in props:
        features = table.get(prop.namespace)
        if features is None:
            return None
        entry = features.get(prop.feature)
        if entry is None:
            return None
        nf, vmap = entry
        v_idx = vmap.get(prop.value, _END)
        current = best.get(nf)
        if current is None or v_idx < current:
            best[nf] = v_idx
    flat: list[int] = []
    for nf, v_idx in sorted(best.items()):
        if v_idx == _END:  # AND over features: this one has no supported value
            return None
        flat += nf
        flat.append(v_idx)
    flat.append(_END)
    return tuple(flat)


def _forced_key(props: tuple[VariantProperty, ...], order: PropertyOrder) -> tuple[int, ...]:
    """Key of a forced (possibly incompatible) variant: its supported features only."""
    usable = [p for p in props if order.index(p) is not None]
    return variant_key(usable, order) or (_END,)


def order_variants(
    md: VariantMetadata,
    supported: SupportedProperties,
    prefs: Preferences = DEFAULT_PREFERENCES,
) -> VariantRanking:
    """Rank ``md``'s variants for the target. The null variant is always considered, even when
    ``null`` is missing from ``variants`` (digest §6.6 recommendation)."""
    forbids = tuple(ForbidPattern.parse(text) for text in prefs.forbid)
    order = build_order(md, supported, prefs.prefer)
    variants: dict[str, tuple[VariantProperty, ...]] = dict(md.variants)
    variants.setdefault(NULL_LABEL, ())
    # (sort key, label, variant): labels are unique, so tuple order never reaches the variant
    ranked: list[tuple[tuple[int, ...], str, RankedVariant]] = []
    rejected: list[RejectedVariant] = []
    reasons: dict[tuple[str, str, tuple[str, ...]], Reason] = {}
    screen = not prefs.variants_enabled or prefs.variant is not None or bool(forbids)
    for label, props in variants.items():
        if screen:
            reason = _pre_rejection(label, props, prefs, forbids)
            if reason is not None:
                rejected.append(RejectedVariant(label, reason))
                continue
        sort_key = variant_key(props, order)
        forced = False
        if sort_key is None:
            if prefs.force_variant and prefs.variant == label:
                sort_key, forced = _forced_key(props, order), True
            else:
                failure = first_failure(props, supported)
                if failure is None:
                    reason = _unordered(props)
                else:  # many variants fail on the same feature: build each reason once
                    reason = reasons.get(failure) or reasons.setdefault(
                        failure, failure_reason(*failure, supported)
                    )
                rejected.append(RejectedVariant(label, reason))
                continue
        ranked.append((sort_key, label, RankedVariant(label, props, sort_key, forced, order)))
    ranked.sort()
    rejected.sort(key=lambda r: r.label)
    return VariantRanking(tuple(r for _, _, r in ranked), tuple(rejected))


def _pre_rejection(
    label: str,
    props: tuple[VariantProperty, ...],
    prefs: Preferences,
    forbids: tuple[ForbidPattern, ...],
) -> Reason | None:
    if not prefs.variants_enabled:
        return Reason(
            ReasonCode.VARIANTS_DISABLED, f"variant '{label}': variant wheels are disabled"
        )
    if prefs.variant is not None and label != prefs.variant:
        return Reason(
            ReasonCode.NOT_REQUESTED,
            f"variant '{label}' is not the requested variant '{prefs.variant}'",
        )
    for pattern in forbids:
        for prop in props:
            if pattern.matches(prop):
                return Reason(
                    ReasonCode.FORBIDDEN,
                    f"variant '{label}' has {prop}: forbidden by --forbid {pattern.text}",
                    namespace=prop.namespace,
                    feature=prop.feature,
                    required=(prop.value,),
                )
    return None


def _unordered(props: tuple[VariantProperty, ...]) -> Reason:
    # Only reachable when support and order disagree, which build_order rules out.
    return Reason(
        ReasonCode.FEATURE_UNSUPPORTED, f"no supported value for {', '.join(map(str, props))}"
    )


def describe_decision(first: RankedVariant, second: RankedVariant | None) -> str:
    """Which key element put ``first`` before ``second`` (for ``varwheel explain``)."""
    if second is None:
        return "last compatible variant"
    if first.forced:
        return f"variant '{first.label}' forced by the user"
    if not second.key:
        if not first.key:
            return f"label '{first.label}' before '{second.label}' (both without properties)"
        if not second.properties:  # `null`, or a legacy null label such as torch 2.8's 00000000
            return f"variant '{first.label}' before the null variant (PEP 825: null sorts last)"
        return f"variant '{first.label}' has properties, '{second.label}' has none"
    for i, (a, b) in enumerate(zip(first.key, second.key, strict=False)):
        if a == b:
            continue
        pa, pb = first.key_properties[i], second.key_properties[i]
        if a[0] != b[0]:
            return f"namespace {pa.namespace} ranks before {pb.namespace} ({pa} vs {pb})"
        if a[1] != b[1]:
            return f"feature {pa.feature_key} ranks before {pb.feature_key} ({pa} vs {pb})"
        return f"{pa} ranks before {pb.value}"
    if len(first.key) > len(second.key):
        extra = first.key_properties[len(second.key)]
        return f"same best properties as '{second.label}' plus {extra} (more properties win)"
    return (
        f"label '{first.label}' before '{second.label}' (equal property ranks, PEP 825 tie-break)"
    )
