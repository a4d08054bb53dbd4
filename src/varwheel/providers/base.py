"""The provider interface: feature configs, the ``Provider`` protocol and output validation.

A provider answers for one namespace (PEP 817 §"Provider plugin API"): ``get_all_configs()`` lists
every valid feature and value, ``get_supported_configs()`` what this machine supports, most
preferred first. Native providers (``varwheel.providers.native``) and third-party plugins run by the
runner both end up as tuples of :class:`FeatureConfig`, checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from varwheel.errors import ProviderError
from varwheel.spec.properties import FEATURE_RE, VALUE_RE


@dataclass(frozen=True)
class FeatureConfig:
    """One feature of a provider's namespace and its values, most preferred first."""

    name: str
    values: tuple[str, ...]
    multi_value: bool = False


@runtime_checkable
class Provider(Protocol):
    """What every provider (native or wrapped plugin) exposes to the orchestrator."""

    @property
    def namespace(self) -> str: ...

    @property
    def version(self) -> str:
        """Version of the published plugin this provider answers like (or the plugin's own)."""
        ...

    @property
    def is_static(self) -> bool:
        """True for AoT providers: supported == all, independent of the machine."""
        ...

    @property
    def override_env_vars(self) -> tuple[str, ...]:
        """Environment variables that change the answer (part of the cache key)."""
        ...

    @property
    def distributions(self) -> tuple[str, ...]:
        """Canonical names of the plugin distributions this provider stands for."""
        ...

    @property
    def plugin_apis(self) -> tuple[str, ...]:
        """``plugin-api`` strings (normalised) this provider stands for."""
        ...

    def get_all_configs(self) -> tuple[FeatureConfig, ...]: ...

    def get_supported_configs(self) -> tuple[FeatureConfig, ...]: ...

    def fingerprint(self) -> str:
        """Cheap digest of the hardware/driver facts the answer depends on (cache key)."""
        ...


def configs_to_properties(configs: Iterable[FeatureConfig]) -> dict[str, tuple[str, ...]]:
    """Supported configs as ``{feature: values}`` in preference order, the shape of
    ``SupportedProperties.properties[namespace]``. Features with no values are left out:
    a feature with no supported value is an unsupported feature."""
    out: dict[str, tuple[str, ...]] = {}
    for config in configs:
        if config.values and config.name not in out:
            out[config.name] = tuple(config.values)
    return out


def restrict_to(
    supported: Iterable[FeatureConfig], all_configs: Iterable[FeatureConfig]
) -> tuple[FeatureConfig, ...]:
    """Drop supported features and values that ``all_configs`` does not declare, keeping order.

    PEP 817 §"Provider plugin API": supported MUST be a subset of all. Published plugins break
    this for some forced or unexpected inputs (e.g. a forced CUDA 16.0); native providers filter
    instead of failing, so an override can never produce properties no wheel may carry.
    """
    known = {config.name: set(config.values) for config in all_configs}
    out: list[FeatureConfig] = []
    for config in supported:
        allowed = known.get(config.name)
        if allowed is None:
            continue
        values = tuple(v for v in config.values if v in allowed)
        if values:
            out.append(FeatureConfig(config.name, values, config.multi_value))
    return tuple(out)


def _check_config(namespace: str, where: str, config: FeatureConfig) -> None:
    if not FEATURE_RE.fullmatch(config.name):
        raise ProviderError(
            f"provider '{namespace}': {where} feature name {config.name!r:.80} is invalid "
            f"(must match {FEATURE_RE.pattern})"
        )
    seen: set[str] = set()
    for value in config.values:
        if not isinstance(value, str) or not VALUE_RE.fullmatch(value):
            raise ProviderError(
                f"provider '{namespace}': {where} value {value!r:.80} of feature '{config.name}' is "
                f"invalid (must match {VALUE_RE.pattern})"
            )
        if value in seen:
            raise ProviderError(
                f"provider '{namespace}': {where} feature '{config.name}' lists value "
                f"{value!r:.80} twice"
            )
        seen.add(value)


def validate_all_configs(namespace: str, all_configs: Sequence[FeatureConfig]) -> None:
    """``get_all_configs()`` must be non-empty, with unique features and non-empty unique values."""
    if not all_configs:
        raise ProviderError(f"provider '{namespace}': get_all_configs() returned no features")
    names: set[str] = set()
    for config in all_configs:
        _check_config(namespace, "get_all_configs()", config)
        if not config.values:
            raise ProviderError(
                f"provider '{namespace}': get_all_configs() feature '{config.name}' has no values"
            )
        if config.name in names:
            raise ProviderError(
                f"provider '{namespace}': get_all_configs() lists feature '{config.name}' twice"
            )
        names.add(config.name)


def validate_supported(
    namespace: str,
    all_configs: Sequence[FeatureConfig],
    supported: Sequence[FeatureConfig],
) -> None:
    """Check supported ⊆ all, features and values (PEP 817 §"Provider plugin API"; checklist 36).

    Raises :class:`ProviderError` naming the provider, the feature and the offending value.
    """
    validate_all_configs(namespace, all_configs)
    known = {config.name: config for config in all_configs}
    names: set[str] = set()
    for config in supported:
        _check_config(namespace, "get_supported_configs()", config)
        declared = known.get(config.name)
        if declared is None:
            raise ProviderError(
                f"provider '{namespace}': supported feature '{config.name}' is not declared by "
                "get_all_configs()"
            )
        if config.name in names:
            raise ProviderError(
                f"provider '{namespace}': get_supported_configs() lists feature "
                f"'{config.name}' twice"
            )
        names.add(config.name)
        if config.multi_value != declared.multi_value:
            raise ProviderError(
                f"provider '{namespace}': feature '{config.name}' is multi_value="
                f"{config.multi_value} in get_supported_configs() but "
                f"{declared.multi_value} in get_all_configs()"
            )
        allowed = frozenset(declared.values)  # a set, not the tuple: linear, not n*m
        for value in config.values:
            if value not in allowed:
                raise ProviderError(
                    f"provider '{namespace}': supported value {value!r:.80} of feature "
                    f"'{config.name}' is not declared by get_all_configs()"
                )


def validate_static(
    namespace: str,
    all_configs: Sequence[FeatureConfig],
    supported: Sequence[FeatureConfig],
) -> None:
    """An AoT provider's supported configs equal its all configs modulo order (checklist 37)."""
    validate_supported(namespace, all_configs, supported)

    def as_sets(configs: Sequence[FeatureConfig]) -> dict[str, frozenset[str]]:
        return {c.name: frozenset(c.values) for c in configs}

    if as_sets(all_configs) != as_sets(supported):
        raise ProviderError(
            f"provider '{namespace}': an ahead-of-time provider must support exactly what "
            "get_all_configs() declares"
        )


def feature_configs_from_json(data: Any, *, namespace: str) -> tuple[FeatureConfig, ...]:
    """Read a JSON list of ``{"name", "values", "multi_value"}`` objects (a plugin's answer).

    ``multi_value`` defaults to False (plugin API v0.0.1 had no such field).
    """
    if not isinstance(data, list):
        raise ProviderError(
            f"provider '{namespace}': expected a list of feature configs, got {type(data).__name__}"
        )
    out: list[FeatureConfig] = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ProviderError(f"provider '{namespace}': feature config #{index} is not an object")
        name = item.get("name")
        values = item.get("values")
        multi = item.get("multi_value", False)
        if not isinstance(name, str):
            raise ProviderError(f"provider '{namespace}': feature config #{index} has no name")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ProviderError(
                f"provider '{namespace}': feature '{name}' values must be a list of strings"
            )
        if not isinstance(multi, bool):
            raise ProviderError(
                f"provider '{namespace}': feature '{name}' multi_value must be true or false"
            )
        config = FeatureConfig(name, tuple(values), multi)
        _check_config(namespace, "answer", config)
        out.append(config)
    return tuple(out)


def feature_configs_to_json(configs: Iterable[FeatureConfig]) -> list[dict[str, Any]]:
    """The JSON shape plugins answer with (``name``, ``values``, ``multi_value``)."""
    return [
        {"name": c.name, "values": list(c.values), "multi_value": c.multi_value} for c in configs
    ]
