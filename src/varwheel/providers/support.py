"""The supported properties the selection of one package version sees on the target.

Glue between ``providers.detect`` (what the providers answer, once per session) and
``spec.selection.effective_support`` (PEP 817 §6.3 rules for static, optional and ``enable-if``
providers), used by the resolver for every version it considers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from varwheel.codes import SupportSource
from varwheel.providers.detect import (
    NamespaceResult,
    ProviderOptions,
    detect_support,
    session_for,
)
from varwheel.providers.summary import describe
from varwheel.spec.model import VariantMetadata
from varwheel.spec.selection import SupportedProperties, effective_support


def support_function(
    options: ProviderOptions,
    marker_env: Mapping[str, str],
    installed: Mapping[str, str] | None = None,
    *,
    adding: Mapping[str, str] | None = None,
) -> Callable[[VariantMetadata], SupportedProperties]:
    """Detected (or profile) support for one version's metadata, then PEP 817 §6.3 rules for
    static, optional and ``enable-if`` providers against the *target's* markers.

    ``installed`` (name -> version in the TARGET environment; None when unknown, e.g. another
    machine) and ``adding`` (what this install adds or upgrades) give ``abi_dependency`` its
    supported values (PEP 817 §"Optional abi_dependency namespace")."""

    def support_for(md: VariantMetadata) -> SupportedProperties:
        detected = detect_support(
            md, options, target_env=marker_env, installed=installed, adding=adding
        )
        detected = explain_empty_answers(detected, session_for(options).results())
        return effective_support(
            md, detected, marker_env=marker_env, enabled_optional=options.enabled_optional
        )

    return support_for


def explain_empty_answers(
    detected: SupportedProperties, results: Iterable[NamespaceResult]
) -> SupportedProperties:
    """A provider that ran and found nothing (no GPU, another CPU family) leaves its namespace
    empty; say why in ``unavailable`` so rejections read "the nvidia provider found no NVIDIA
    GPU" rather than "no supported values"."""
    empty = {ns for ns, features in detected.properties.items() if not features}
    empty -= set(detected.unavailable)
    if not empty:
        return detected
    notes = dict(detected.unavailable)
    for result in results:
        if result.namespace in empty and result.properties is not None and not result.properties:
            if result.kind is SupportSource.NATIVE:
                notes[result.namespace] = f"{result.source}: {describe(result)}"
            else:
                notes[result.namespace] = f"{result.source} lists no supported properties"
    return SupportedProperties(detected.properties, notes)
