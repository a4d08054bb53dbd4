"""What a user asks of one package's variant: ``--variant NAME=...`` (docs/variants.md).

Three forms, one per ``--variant`` item:

- ``NAME=LABEL``: exactly that variant (the label of *that* version: labels are chosen per
  release, PEP 825 §"Variant label");
- ``NAME=null``: the null variant, the one with no properties (PEP 825 reserves the label
  ``null`` for it; an index that publishes it under another label, as torch 2.8.0's
  ``00000000``, still has it);
- ``NAME='ns :: feature :: value'``: the best variant that has this property. Repeated for one
  package the properties add up (AND): the best variant that has all of them.

Contradictions are errors, never a silent last-one-wins: two labels for one package, a label and
properties together, or ``*`` as the name (a request is per package; ``--prefer``/``--forbid``
steer every package). Pure: parsing and matching only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name

from varwheel.errors import InvalidInput, InvalidLabel, InvalidProperty
from varwheel.spec.filenames import is_project_name
from varwheel.spec.properties import NULL_LABEL, VariantProperty, shown, validate_label

__all__ = [
    "RequestItem",
    "VariantRequest",
    "as_request",
    "labels_of",
    "parse_item",
    "parse_requests",
]

EXAMPLE = "torch=cuda12.8, torch=null or torch='nvidia :: cuda_version_lower_bound :: 12.8'"


@dataclass(frozen=True)
class VariantRequest:
    """One package's request: a ``label`` (``null`` included) or ``properties`` (all of them)."""

    label: str | None = None
    properties: frozenset[VariantProperty] = frozenset()

    @property
    def is_null(self) -> bool:
        return self.label == NULL_LABEL

    def matches(self, label: str, properties: Iterable[VariantProperty]) -> bool:
        """Whether the variant ``label`` with ``properties`` is what was asked for."""
        if self.is_null:
            return not tuple(properties)
        if self.label is not None:
            return label == self.label
        return self.properties <= frozenset(properties)

    def missing(self, properties: Iterable[VariantProperty]) -> tuple[VariantProperty, ...]:
        """The requested properties a variant lacks (sorted)."""
        return tuple(sorted(self.properties - frozenset(properties)))

    def __str__(self) -> str:
        if self.label is not None:
            return self.label
        return " and ".join(f"'{p}'" for p in sorted(self.properties))

    def describe(self) -> str:
        """``variant cu128``, ``the null variant``, ``a variant with 'ns :: f :: v'``."""
        if self.is_null:
            return "the null variant"
        if self.label is not None:
            return f"variant {self.label}"
        return f"a variant with {self}"


@dataclass(frozen=True)
class RequestItem:
    """One ``--variant`` text, parsed: exactly one of ``label`` and ``prop`` is set."""

    text: str
    name: NormalizedName
    label: str | None = None
    prop: VariantProperty | None = None


def parse_item(text: str) -> RequestItem:
    """Parse ``NAME=LABEL``, ``NAME=null`` or ``NAME=ns :: feature :: value``."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise InvalidInput(f"--variant {shown(text)}: expected NAME=LABEL, e.g. {EXAMPLE}")
    if name == "*":
        # decided: no wildcard. A label means something per release of one project, and a
        # property for every package is what --prefer (reorder) and --forbid (exclude) say
        raise InvalidInput(
            f"--variant {shown(text)}: a variant is requested per package (NAME=...); to steer "
            "every package use --prefer 'ns :: feature :: value' or --forbid 'ns :: feature'"
        )
    if not is_project_name(name):  # as a requirement's name
        raise InvalidInput(f"--variant {shown(text)}: {shown(name)} is not a package name")
    project = canonicalize_name(name)
    try:
        if "::" in value:
            return RequestItem(text, project, prop=VariantProperty.parse(value))
        return RequestItem(text, project, label=validate_label(value))
    except (InvalidLabel, InvalidProperty) as err:
        raise InvalidInput(f"--variant {shown(text)}: {err}") from err


def parse_requests(texts: Iterable[str]) -> dict[NormalizedName, VariantRequest]:
    """Every ``--variant`` text, combined per package (see the module docstring)."""
    labels: dict[NormalizedName, RequestItem] = {}
    props: dict[NormalizedName, list[RequestItem]] = {}
    for text in texts:
        item = parse_item(text)
        if item.label is not None:
            seen = labels.get(item.name)
            if seen is not None and seen.label != item.label:
                raise InvalidInput(
                    f"--variant {shown(seen.text)} and --variant {shown(item.text)} ask for two "
                    f"variants of {item.name}; give one"
                )
            labels[item.name] = item
        else:
            props.setdefault(item.name, []).append(item)
        if item.name in labels and item.name in props:
            by_label, by_prop = labels[item.name], props[item.name][0]
            raise InvalidInput(
                f"--variant {shown(by_label.text)} and --variant {shown(by_prop.text)}: name "
                f"{item.name}'s variant by its label or by properties, not both"
            )
    out: dict[NormalizedName, VariantRequest] = {
        name: VariantRequest(label=item.label) for name, item in labels.items()
    }
    for name, items in props.items():
        out[name] = VariantRequest(
            properties=frozenset(i.prop for i in items if i.prop is not None)
        )
    return out


def as_request(value: str | VariantRequest) -> VariantRequest:
    """A pin as a request: a bare label (the form lock files and older callers use) or one."""
    return value if isinstance(value, VariantRequest) else VariantRequest(label=value)


def labels_of(variants: Mapping[str, Iterable[VariantProperty]]) -> tuple[str, ...]:
    """Labels for a listing: sorted, the null variant last (it is the fallback)."""
    return tuple(sorted(variants, key=lambda label: (label == NULL_LABEL, label)))
