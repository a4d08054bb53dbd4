"""Which variant properties a target supports, and whether one variant is compatible with it.

PEP 817 §"Variant properties" / PEP 825 §"Variant properties": a variant is compatible when every
feature it uses is supported (AND) and, per feature, at least one of its values is supported (OR).
The null variant (no properties) is always compatible.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from packaging.markers import InvalidMarker as PackagingInvalidMarker
from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName

from varwheel.codes import ReasonCode
from varwheel.errors import InvalidMetadata
from varwheel.spec.model import ProviderInfo, ProviderKind, VariantMetadata
from varwheel.spec.properties import VariantProperty, group_by_feature


def _freeze(
    properties: Mapping[str, Mapping[str, Iterable[str]]],
) -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for ns, features in properties.items():
        out[ns] = {f: tuple(dict.fromkeys(values)) for f, values in features.items()}
    return out


@dataclass(frozen=True)
class SupportedProperties:
    """The target's supported values per ``namespace -> feature``, most preferred first.

    A namespace absent from ``properties`` is unsupported; ``unavailable[ns]`` says why in words
    ("optional provider 'foo' is not enabled", ...). A namespace present with no features (its
    provider ran and found nothing) may also have an ``unavailable`` entry saying why ("no
    NVIDIA GPU found"). Value tuples are de-duplicated, order kept.
    """

    properties: Mapping[str, Mapping[str, tuple[str, ...]]]
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", _freeze(self.properties))
        object.__setattr__(self, "unavailable", dict(self.unavailable))
        object.__setattr__(self, "_sets", {})

    def value_set(self, namespace: str, feature: str) -> frozenset[str]:
        """The supported values of a feature as a set, built once (membership tests over
        thousands of variants stay linear)."""
        sets: dict[tuple[str, str], frozenset[str]] = self._sets  # type: ignore[attr-defined]
        key = (namespace, feature)
        found = sets.get(key)
        if found is None:
            found = sets[key] = frozenset(self.values(namespace, feature))
        return found

    @classmethod
    def from_properties(
        cls, props: Iterable[VariantProperty], unavailable: Mapping[str, str] | None = None
    ) -> SupportedProperties:
        """Build from a flat, ordered property list (first occurrence = most preferred)."""
        tree: dict[str, dict[str, list[str]]] = {}
        for prop in props:
            tree.setdefault(prop.namespace, {}).setdefault(prop.feature, []).append(prop.value)
        return cls(tree, unavailable or {})

    def values(self, namespace: str, feature: str) -> tuple[str, ...]:
        return self.properties.get(namespace, {}).get(feature, ())

    def as_properties(self) -> tuple[VariantProperty, ...]:
        """Flat list in preference order (namespace, then feature, then value order as stored)."""
        return tuple(
            VariantProperty(ns, f, v)
            for ns, features in self.properties.items()
            for f, values in features.items()
            for v in values
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a variant or wheel was rejected: a stable ``code`` plus a one-line ``message``.

    Codes: tag-mismatch, label-not-in-metadata, no-metadata, namespace-unavailable,
    feature-unsupported, forbidden, variants-disabled, not-requested.
    """

    code: ReasonCode
    message: str
    namespace: str | None = None
    feature: str | None = None
    required: tuple[str, ...] = ()
    available: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.message


def _listing(values: tuple[str, ...], limit: int = 8) -> str:
    """Comma list for one-line messages; long lists end with "(N more)"."""
    if len(values) <= limit:
        return ", ".join(values)
    return f"{', '.join(values[:limit])}, ... ({len(values) - limit} more)"


def first_failure(
    props: Iterable[VariantProperty], supported: SupportedProperties
) -> tuple[str, str, tuple[str, ...]] | None:
    """``(namespace, feature, values)`` of the first feature (canonical order) with no supported
    value, or ``None`` when compatible: AND over features, OR over values (PEP 817 §"Variant
    properties"). No properties = the null variant, always compatible."""
    for (ns, feature), values in sorted(group_by_feature(props).items()):
        if supported.value_set(ns, feature).isdisjoint(values):
            return ns, feature, values
    return None


def failure_reason(
    ns: str, feature: str, values: tuple[str, ...], supported: SupportedProperties
) -> Reason:
    """The one-line reason for a failure found by :func:`first_failure`."""
    needs = f"{ns} :: {feature} needs one of {_listing(values)}"
    features = supported.properties.get(ns)
    if features is None:
        why = supported.unavailable.get(ns) or f"no provider result for namespace '{ns}'"
        return Reason(
            ReasonCode.NAMESPACE_UNAVAILABLE,
            f"{needs}; {why}",
            namespace=ns,
            feature=feature,
            required=values,
        )
    available = features.get(feature, ())
    if available:
        why = f"target has {_listing(available)}"
    elif not features and ns in supported.unavailable:
        why = supported.unavailable[ns]  # the provider ran and said why it found nothing
    else:
        why = "target has no supported values"
    return Reason(
        ReasonCode.FEATURE_UNSUPPORTED,
        f"{needs}; {why}",
        namespace=ns,
        feature=feature,
        required=values,
        available=available,
    )


def incompatibility(
    props: Iterable[VariantProperty], supported: SupportedProperties
) -> Reason | None:
    """``None`` when compatible, else the reason naming the first failing feature."""
    failure = first_failure(props, supported)
    return None if failure is None else failure_reason(*failure, supported)


def is_compatible(props: Iterable[VariantProperty], supported: SupportedProperties) -> bool:
    return incompatibility(props, supported) is None


def _static_support(info: ProviderInfo) -> dict[str, tuple[str, ...]] | None:
    """Features of a static / AoT provider in preference order: ``feature_order`` first."""
    if info.static_properties is None:
        return None
    order = list(dict.fromkeys((*info.feature_order, *info.static_properties)))
    return {f: tuple(info.static_properties[f]) for f in order if f in info.static_properties}


def _enable_if_holds(md: VariantMetadata, ns: str, marker: str, env: Mapping[str, str]) -> bool:
    """PEP 817 §"enable-if": evaluated against the environment wheels are installed into."""
    path = f"providers.{ns}.enable-if"
    try:
        return Marker(marker).evaluate(dict(env))
    except PackagingInvalidMarker as exc:
        raise InvalidMetadata(
            f"invalid marker {marker!r}: {exc}", path=path, source=md.source
        ) from exc
    except (UndefinedEnvironmentName, UndefinedComparison) as exc:
        raise InvalidMetadata(
            f"marker {marker!r} cannot be evaluated: {exc}", path=path, source=md.source
        ) from exc
    except ValueError as exc:  # a version past int()'s digit limit (a model built by hand)
        reason = str(exc).split(";")[0]
        raise InvalidMetadata(
            f"marker {marker[:200]!r} cannot be evaluated: {reason}", path=path, source=md.source
        ) from None


def effective_support(
    md: VariantMetadata,
    detected: SupportedProperties,
    *,
    marker_env: Mapping[str, str],
    enabled_optional: Collection[str] = (),
) -> SupportedProperties:
    """The support that applies to ``md`` on the target.

    - static / AoT providers: values from the metadata only, never from ``detected``
      (PEP 817 §"Provider-handling": AoT providers MUST use the static metadata);
    - optional providers: incompatible unless named in ``enabled_optional``;
    - ``enable-if`` false on ``marker_env`` (the TARGET environment): incompatible;
    - install-time / builtin providers and namespaces without a provider entry
      (e.g. ``abi_dependency``): as ``detected``.
    """
    properties: dict[str, dict[str, tuple[str, ...]]] = {}
    unavailable: dict[str, str] = {}
    enabled = set(enabled_optional)
    for ns, features in detected.properties.items():
        if ns not in md.providers:
            properties[ns] = dict(features)
    for ns, why in detected.unavailable.items():
        if ns not in md.providers:
            unavailable[ns] = why
    for ns, info in md.providers.items():
        if info.optional and ns not in enabled:
            unavailable[ns] = (
                f"optional provider '{ns}' is not enabled (enable it with --enable-provider {ns})"
            )
            continue
        if info.enable_if is not None and not _enable_if_holds(md, ns, info.enable_if, marker_env):
            unavailable[ns] = f"enable-if '{info.enable_if}' is false for the target environment"
            continue
        if info.kind in (ProviderKind.STATIC, ProviderKind.AOT_PLUGIN):
            static = _static_support(info)
            if static is None:
                unavailable[ns] = f"ahead-of-time provider '{ns}' has no static-properties"
            else:
                properties[ns] = static
            continue
        if ns in detected.properties:
            properties[ns] = dict(detected.properties[ns])
            if not properties[ns] and ns in detected.unavailable:
                unavailable[ns] = detected.unavailable[ns]  # why the provider found nothing
        else:
            unavailable[ns] = (
                detected.unavailable.get(ns) or f"no provider result for namespace '{ns}'"
            )
    return SupportedProperties(properties, unavailable)
