"""Which native provider stands in for the plugin a ``providers.<namespace>`` entry names.

Like uv's vendored providers, a native provider is used only when the metadata names the very
plugin it re-implements: the namespace matches, the plugin distribution in ``requires`` (or
``build-requires``) is one it stands for and its version range admits the version emulated, and the
``plugin-api`` (explicit, or inferred from the first requirement as variantlib does) is that
plugin's. Anything else is a third-party provider (PEP 817 §"Provider plugin API": installers MAY
re-implement providers, but "should recognize the relevant provider versions numbers").
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from varwheel.providers.base import Provider
from varwheel.providers.native import NAMESPACES, provider_type
from varwheel.spec.model import ProviderInfo


def all_native_providers() -> tuple[Provider, ...]:
    """One live instance of every native provider (for ``varwheel detect``)."""
    return tuple(provider_type(ns)() for ns in NAMESPACES)


def native_provider_by_namespace(namespace: str) -> Provider | None:
    """The native provider that owns ``namespace``, regardless of metadata."""
    cls = provider_type(namespace)
    return cls() if cls is not None else None


def normalize_plugin_api(text: str) -> str:
    """``mod.sub : Obj`` -> ``mod.sub:Obj``; an empty object path (``mod:``) means the module."""
    module, _, obj = re.sub(r"\s*:\s*", ":", text.strip()).partition(":")
    return f"{module}:{obj}" if obj else module


def _applicable_here(requirements: list[Requirement]) -> list[Requirement]:
    """PEP 817 §"providers": requirements whose marker is false where the plugin would be
    installed are filtered out; a native provider runs in this interpreter, so markers are
    evaluated here."""
    return [r for r in requirements if r.marker is None or r.marker.evaluate()]


def native_mismatch_reason(namespace: str, info: ProviderInfo) -> str | None:
    """Why no native provider stands in for this entry (None when one does)."""
    cls = provider_type(namespace)
    if cls is None:
        return f"no native provider implements namespace '{namespace}'"
    dists = set(cls.distributions)
    if info.builtin is not None:
        name = info.builtin.strip()
        if name == namespace or canonicalize_name(name) in dists:
            return None
        return f"builtin provider '{name}' is not one varwheel implements for '{namespace}'"
    texts = (*info.requires, *info.build_requires)
    try:
        reqs = [Requirement(text) for text in texts]
    except InvalidRequirement as exc:
        return f"provider requirement is invalid: {exc}"
    applicable = _applicable_here(reqs)
    if reqs and not applicable:
        return f"no requirement of provider '{namespace}' applies to this environment"
    ours = [r for r in applicable if canonicalize_name(r.name) in dists]
    if applicable and not ours:
        names = ", ".join(sorted({r.name for r in applicable}))
        return f"plugin {names} is not one varwheel re-implements for '{namespace}'"
    emulated = Version(cls.version)
    for req in ours:
        if req.url:
            return f"plugin {req.name} is pinned to a URL ({req.url}); version unknown"
        if not req.specifier.contains(emulated, prereleases=True):
            return f"'{req}' excludes {req.name} {cls.version}, the version varwheel re-implements"
    api = info.object_reference()  # markers evaluated here: a native provider runs here
    if api is None:
        return f"provider '{namespace}' names no plugin"
    api = normalize_plugin_api(api)
    if api not in cls.plugin_apis:
        return f"plugin-api '{api}' is not the API varwheel re-implements for '{namespace}'"
    return None


def native_provider_for(namespace: str, info: ProviderInfo) -> Provider | None:
    """The native provider standing in for the plugin ``info`` names, or None (third party)."""
    if native_mismatch_reason(namespace, info) is not None:
        return None
    return provider_type(namespace)()
