"""Validating a variant build request against the project's ``[variant]`` table and its providers.

PEP 817 §"Building a variant wheel" (spec-digest 63-65): every requested namespace needs a
provider in ``[variant.providers]``; the properties are checked against the provider's
``get_all_configs()`` (feature known, value known, several values only for a multi-value feature);
build-time (AoT) providers are queried now and their answer inlined as ``static-properties``.
Native providers answer in-process; any other plugin only when pinned by ``--trust-provider``,
exactly as for install. The label grammar for a wheel we write is PEP 825's plus PEP 817's
16-character cap, so that tools of either generation read it; ``null`` names the empty set only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from varwheel.build.errors import InvalidBuildRequest
from varwheel.errors import InvalidLabel, ProviderError
from varwheel.providers.base import FeatureConfig, feature_configs_from_json
from varwheel.providers.plugin_source import PluginSource
from varwheel.providers.registry import native_mismatch_reason, native_provider_for
from varwheel.spec.model import ProviderInfo, ProviderKind, VariantMetadata
from varwheel.spec.properties import (
    NULL_LABEL,
    VariantProperty,
    canonical_properties,
    check_label_matches,
    default_label,
    group_by_feature,
)
from varwheel.spec.validation import ABI_DEPENDENCY  # PEP 817: no provider

__all__ = [
    "MAX_LABEL_LENGTH",
    "PluginAccess",
    "VariantRequest",
    "all_configs_for",
    "check_build_label",
    "inline_static",
    "resolve_request",
]

# PEP 817 §"Variant label": at most 16 characters. PEP 825 dropped the cap, but variantlib 0.2
# and PEP 817 readers still enforce it, so a label we write keeps within it.
MAX_LABEL_LENGTH = 16


@dataclass(frozen=True)
class VariantRequest:
    """A validated variant: canonical properties, its label, and the ``variant.json`` metadata
    (the project's ``[variant]`` with AoT providers inlined and ``variants = {label: props}``)."""

    properties: tuple[VariantProperty, ...]
    label: str
    metadata: VariantMetadata

    @property
    def is_null(self) -> bool:
        return not self.properties


def check_build_label(label: str, properties: Iterable[VariantProperty]) -> str:
    """The label grammar for a wheel we write; ``InvalidLabel`` naming the rule broken."""
    check_label_matches(label, list(properties))
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidLabel(
            f"variant label {label!r} is {len(label)} characters long; "
            f"at most {MAX_LABEL_LENGTH} are allowed (PEP 817)"
        )
    return label


@dataclass(frozen=True)
class PluginAccess:
    """How a plugin provider may be run to validate properties: only with an exact pin
    (``--trust-provider``), installed from ``source`` into a venv cached under ``cache_dir``."""

    trusted: tuple[str, ...] = ()
    source: PluginSource | None = None  # default: the plugin source of install (PyPI)
    cache_dir: Path | None = None  # default: varwheel's cache


def _plugin_configs(
    ns: str, info: ProviderInfo, access: PluginAccess
) -> tuple[tuple[FeatureConfig, ...], tuple[FeatureConfig, ...]]:
    """Ask a trusted plugin (installed from its exact pins) for all and supported configs."""
    from varwheel.providers import cache as cache_mod
    from varwheel.providers import runner, trust

    requirements = trust.applicable_requirements(
        info.requires or info.build_requires, _marker_env(), namespace=ns
    )
    pins = trust.parse_pins(access.trusted)
    decision = trust.decide(requirements, pins) if requirements else None
    api = info.object_reference(_marker_env())
    if decision is None or not decision.trusted or api is None:
        why = native_mismatch_reason(ns, info) or "no native provider"
        hint = decision.reason if decision is not None else "it names no plugin requirement"
        raise InvalidBuildRequest(
            f"cannot check the properties of namespace '{ns}': {why}, and its plugin is not "
            f"trusted ({hint}); pin it with --trust-provider NAME==VERSION"
        )
    env_dir = runner.ensure_plugin_env(
        decision.pins,
        python=sys.executable,
        source=access.source or runner.PluginSource(),
        cache_root=access.cache_dir or cache_mod.cache_root(),
        allowed=pins,
    )
    answer = runner.query_plugins(env_dir, [runner.PluginQuery(ns, api)], timeout=60.0)[ns]
    if not answer.ok:
        raise ProviderError(f"provider '{ns}': {answer.error}")
    all_configs = feature_configs_from_json(list(answer.all_configs), namespace=ns)
    supported = feature_configs_from_json(list(answer.supported_configs), namespace=ns)
    return all_configs, supported


def _marker_env() -> dict[str, str]:
    from packaging.markers import default_environment

    return dict(default_environment())


def _provider_configs(
    ns: str, info: ProviderInfo, access: PluginAccess
) -> tuple[tuple[FeatureConfig, ...], tuple[FeatureConfig, ...]]:
    """(all configs, supported configs) of the provider ``info`` names."""
    native = native_provider_for(ns, info)
    if native is not None:
        all_configs = tuple(native.get_all_configs())
        supported = tuple(native.get_supported_configs()) if native.is_static else all_configs
        return all_configs, supported
    return _plugin_configs(ns, info, access)


def _needs_inlining(info: ProviderInfo) -> bool:
    return (
        info.builtin is None
        and info.static_properties is None
        and info.kind
        in (
            ProviderKind.AOT_PLUGIN,
            ProviderKind.STATIC,
        )
    )


def all_configs_for(
    ns: str,
    info: ProviderInfo,
    *,
    trusted: tuple[str, ...] = (),
    access: PluginAccess | None = None,
) -> tuple[FeatureConfig, ...]:
    """What the provider of ``ns`` declares (``get_all_configs``; a static provider: its
    ``static-properties``, each a single-value feature)."""
    if info.static_properties is not None:
        return tuple(
            FeatureConfig(feature, tuple(values))
            for feature, values in info.static_properties.items()
        )
    return _provider_configs(ns, info, access or PluginAccess(trusted))[0]


def inline_static(
    md: VariantMetadata, *, trusted: tuple[str, ...] = (), access: PluginAccess | None = None
) -> VariantMetadata:
    """Query each build-time (AoT) provider and inline its answer as ``static-properties``
    (PEP 817 §"Building a variant wheel" step 5); other providers are kept as they are."""
    providers: dict[str, ProviderInfo] = {}
    for ns, info in md.providers.items():
        if not _needs_inlining(info):
            providers[ns] = info
            continue
        _all, supported = _provider_configs(ns, info, access or PluginAccess(trusted))
        multi = [c.name for c in supported if c.multi_value]
        if multi:
            raise InvalidBuildRequest(
                f"build-time provider '{ns}' declares multi-value feature(s) {', '.join(multi)}, "
                "which static-properties cannot hold"
            )
        providers[ns] = ProviderInfo(
            namespace=ns,
            static_properties={c.name: tuple(c.values) for c in supported if c.values},
            feature_order=tuple(c.name for c in supported if c.values)
            if len(supported) > 1
            else (),
            optional=info.optional,
            install_time=info.install_time,
        )
    return replace(md, providers=providers)


def _check_properties(
    md: VariantMetadata,
    properties: tuple[VariantProperty, ...],
    *,
    access: PluginAccess,
    where: str,
) -> None:
    grouped: Mapping[tuple[str, str], tuple[str, ...]] = group_by_feature(properties)
    configs_by_ns: dict[str, dict[str, FeatureConfig]] = {}
    for (ns, feature), values in grouped.items():
        if ns == ABI_DEPENDENCY:
            continue  # PEP 817 §"abi_dependency": no provider by design; any dist and release
        info = md.providers.get(ns)
        if info is None:
            # PEP 817 §"Building a variant wheel": a namespace without a provider is an error.
            raise InvalidBuildRequest(
                f"{ns} :: {feature} :: {values[0]}: namespace '{ns}' has no provider in "
                f"[variant.providers] of {where}"
            )
        if ns not in configs_by_ns:
            configs_by_ns[ns] = {c.name: c for c in all_configs_for(ns, info, access=access)}
        config = configs_by_ns[ns].get(feature)
        if config is None:
            known = ", ".join(sorted(configs_by_ns[ns])) or "none"
            raise InvalidBuildRequest(
                f"{ns} :: {feature} :: {values[0]}: provider '{ns}' has no feature '{feature}' "
                f"(known: {_shorten(known)})"
            )
        for value in values:
            if value not in config.values:
                raise InvalidBuildRequest(
                    f"{ns} :: {feature} :: {value}: provider '{ns}' does not know value "
                    f"'{value}' (known: {_shorten(', '.join(config.values))})"
                )
        if len(values) > 1 and not config.multi_value:
            raise InvalidBuildRequest(
                f"{ns} :: {feature}: several values ({', '.join(values)}) requested, but the "
                "feature is not multi-value"
            )


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip(", ") + "..."


def resolve_request(
    project: VariantMetadata,
    properties: Iterable[VariantProperty],
    *,
    label: str | None = None,
    null: bool = False,
    trusted: tuple[str, ...] = (),
    validate: bool = True,
    plugin_source: PluginSource | None = None,
    cache_dir: Path | None = None,
) -> VariantRequest:
    """Validate a request against ``project`` (its ``[variant]`` table) and the providers.

    ``null``: the null variant (no properties, label ``null``). ``label`` defaults to the
    8-hex-digit hash of the properties (variantlib's convention). ``validate=False`` skips the
    ``get_all_configs`` check (never the namespace and label rules), for providers that cannot
    run here. Raises ``InvalidBuildRequest``/``InvalidLabel`` with one line naming the input.
    """
    where = project.source or "pyproject.toml"
    access = PluginAccess(trusted, plugin_source, cache_dir)
    props = canonical_properties(properties)
    if null and props:
        raise InvalidBuildRequest("the null variant has no properties: drop -p or --null-variant")
    if not null and not props:
        raise InvalidBuildRequest(
            "a variant build needs properties (-p 'ns :: feature :: value') or --null-variant"
        )
    if null and label is not None and label != NULL_LABEL:
        raise InvalidLabel(f"the null variant's label is 'null', not {label!r}")
    chosen = label if label is not None else default_label(props)
    check_build_label(chosen, props)
    if validate:
        _check_properties(project, props, access=access, where=where)
    else:
        for prop in props:
            if prop.namespace not in project.providers and prop.namespace != ABI_DEPENDENCY:
                raise InvalidBuildRequest(
                    f"{prop}: namespace '{prop.namespace}' has no provider in "
                    f"[variant.providers] of {where}"
                )
    metadata = inline_static(project, access=access)
    metadata = replace(metadata, variants={chosen: props}, warnings=())
    return VariantRequest(properties=props, label=chosen, metadata=metadata)
