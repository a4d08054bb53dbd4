"""The one in-memory model of variant metadata, shared by every schema generation.

Loaders (``varwheel.spec.metadata``) turn pyproject ``[variant]``, ``variant.json`` and
``*-variants.json`` of any supported generation into :class:`VariantMetadata`; the writer emits
schema v0.2.0 only. Selection (``varwheel.spec.selection``) reads this model, never raw JSON.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from varwheel.spec.properties import NULL_LABEL, VariantProperty

SCHEMA_V0_2_0 = "https://variants-schema.wheelnext.dev/peps/850/v0.2.0.json"


class SchemaGeneration(enum.Enum):
    """Which family of the format a document was written in."""

    PEP817 = (
        "0.0"  # v0.0.2 / v0.0.3 / unversioned: install-time, enable-if, top-level static-properties
    )
    PEP825 = "0.1"  # PEP 825 v0.1.x: only $schema, default-priorities.namespace, variants
    PROVIDERS = "0.2"  # PEP 825 + Providers draft v0.2.0 (variantlib 0.2.x, uv 0.13.x): native


class ProviderKind(enum.Enum):
    INSTALL_TIME = "install-time"  # ``requires``: plugin queried on the target at install time
    AOT_PLUGIN = "aot-plugin"  # ``build-requires``: plugin queried at build time (pyproject only)
    STATIC = "static"  # ``static-properties``: supported values fixed in the metadata
    BUILTIN = "builtin"  # ``builtin``: implemented by the installer itself
    NONE = "none"  # PEP 825 v0.1.x documents carry no provider information


@dataclass(frozen=True)
class ProviderInfo:
    """One ``providers.<namespace>`` entry, generation-neutral.

    v0.0.3 fields (``install_time``, ``enable_if``) are kept so selection can honour them.
    For a v0.0.3 AoT provider, the top-level ``static-properties.<ns>`` are stored in
    ``static_properties`` and ``default-priorities.feature.<ns>`` in ``feature_order``.
    """

    namespace: str
    requires: tuple[str, ...] = ()
    build_requires: tuple[str, ...] = ()
    # feature -> values, most preferred first (dict order is not significant; see feature_order)
    static_properties: Mapping[str, tuple[str, ...]] | None = None
    feature_order: tuple[str, ...] = ()
    builtin: str | None = None
    optional: bool = False
    plugin_api: str | None = None
    enable_if: str | None = None  # PEP 817 only: marker evaluated against the target environment
    install_time: bool = True  # PEP 817 only; False = AoT

    def object_reference(self, environment: Mapping[str, str] | None = None) -> str | None:
        """The plugin API endpoint: ``plugin-api``, else inferred from the first requirement whose
        marker holds in ``environment`` (PEP 817 §"plugin-api": normalized name, ``-`` -> ``_``)."""
        if self.plugin_api is not None:
            return self.plugin_api
        for text in self.requires or self.build_requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(
                dict(environment) if environment else None
            ):
                return canonicalize_name(req.name).replace("-", "_")
        return None

    @property
    def kind(self) -> ProviderKind:
        if self.builtin is not None:
            return ProviderKind.BUILTIN
        if self.static_properties is not None or not self.install_time:
            return ProviderKind.STATIC
        if self.build_requires:
            return ProviderKind.AOT_PLUGIN
        return ProviderKind.INSTALL_TIME


@dataclass(frozen=True)
class VariantMetadata:
    """Variant metadata of one package version (or one wheel, or one pyproject)."""

    namespace_priorities: tuple[str, ...]
    providers: Mapping[str, ProviderInfo] = field(default_factory=dict)
    # label -> canonical (sorted, de-duplicated) properties; empty for pyproject [variant]
    variants: Mapping[str, tuple[VariantProperty, ...]] = field(default_factory=dict)
    # PEP 817 default-priorities.feature / .property, honoured by selection when present
    feature_priorities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    property_priorities: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    generation: SchemaGeneration = SchemaGeneration.PROVIDERS
    schema: str | None = None  # the $schema URL as read (None for pyproject)
    source: str | None = None  # file/URL it was read from, for messages
    warnings: tuple[str, ...] = ()  # non-fatal findings of the loader (newer minor schema, ...)

    @cached_property
    def legacy_null_labels(self) -> frozenset[str]:
        """Labels other than ``null`` whose variant has no properties (computed once: callers
        test it per label, and index files hold thousands of labels).

        Only PEP 817 (v0.0.x) documents can hold them (validation enforces ``null`` for v0.1+):
        the published torch 2.8.0 / torchvision 0.23.0 name their null variant ``00000000``.
        A wheel with such a label is the null variant; the v0.2.0 writer emits it as ``null``.
        """
        return frozenset(
            label for label, props in self.variants.items() if not props and label != NULL_LABEL
        )

    def is_null_variant(self, label: str) -> bool:
        """True for ``null`` and for a legacy null label of this metadata (PEP 825: the null
        variant has no properties and ranks after every other variant)."""
        return label == NULL_LABEL or (label in self.variants and not self.variants[label])
