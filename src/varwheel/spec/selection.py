"""Choose among the wheels of one package version: variant order first, then platform tags.

PEP 825 §"Variant ordering" / PEP 817 §"Suggested implementation logic": compatible wheels are
grouped by variant label, with one more group for non-variant wheels; groups follow the variant
order (null after every other variant, non-variant after null); inside a group wheels follow the
target's platform-tag priority, then the build tag (higher first, like pip). Variant order
dominates tag order. Compatibility and ordering live in ``compat`` and ``ordering``; this module
re-exports them so callers import one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from varwheel.codes import ReasonCode
from varwheel.spec.compat import (
    Reason,
    SupportedProperties,
    effective_support,
    incompatibility,
    is_compatible,
)
from varwheel.spec.model import VariantMetadata
from varwheel.spec.ordering import (
    DEFAULT_PREFERENCES,
    Preferences,
    RankedVariant,
    RejectedVariant,
    VariantRanking,
    describe_decision,
    order_variants,
)
from varwheel.spec.properties import NULL_LABEL, VariantProperty
from varwheel.spec.request import VariantRequest, labels_of

if TYPE_CHECKING:
    from packaging.tags import Tag

    from varwheel.spec.filenames import WheelFilename

__all__ = [
    "Preferences",
    "RankedVariant",
    "RankedWheel",
    "Reason",
    "RejectedVariant",
    "RejectedWheel",
    "RequestPreferences",
    "SupportedProperties",
    "VariantRanking",
    "WheelSelection",
    "effective_support",
    "incompatibility",
    "is_compatible",
    "order_variants",
    "request_of",
    "select_wheels",
    "with_request",
]


@dataclass(frozen=True)
class RequestPreferences(Preferences):
    """Preferences of one project asked for by properties (``--variant NAME='ns :: f :: v'``):
    only variants that have every property in ``require`` are candidates, best first."""

    require: frozenset[VariantProperty] = frozenset()


def request_of(prefs: Preferences) -> VariantRequest | None:
    """The user's request these preferences carry (a label, ``null`` or properties), if any."""
    require = getattr(prefs, "require", frozenset())
    if require:
        return VariantRequest(properties=frozenset(require))
    if prefs.variant is not None:
        return VariantRequest(label=prefs.variant)
    return None


def with_request(prefs: Preferences, request: VariantRequest | None) -> Preferences:
    """``prefs`` narrowed to ``request`` (None: ``prefs`` without any request)."""
    base = {f.name: getattr(prefs, f.name) for f in fields(Preferences)}
    if request is None:
        return Preferences(**{**base, "variant": None})
    if request.label is not None:
        return Preferences(**{**base, "variant": request.label})
    return RequestPreferences(**{**base, "variant": None}, require=request.properties)


@dataclass(frozen=True)
class RankedWheel:
    """A candidate, best first. ``label`` is None for a non-variant wheel; ``decided_by`` says
    which key element put it before the next candidate."""

    wheel: WheelFilename
    label: str | None
    properties: tuple[VariantProperty, ...]
    decided_by: str
    # --force-variant put it here although the target does not support it (the reason why not)
    forced: bool = False
    forced_reason: str = ""


@dataclass(frozen=True)
class RejectedWheel:
    wheel: WheelFilename
    reason: Reason


@dataclass(frozen=True)
class WheelSelection:
    """``missing``: when the user's request matches no variant of this version, the one line
    that says so and lists the variants it has."""

    ranked: tuple[RankedWheel, ...]
    rejected: tuple[RejectedWheel, ...]
    missing: str = ""

    @property
    def best(self) -> RankedWheel | None:
        return self.ranked[0] if self.ranked else None


@dataclass(frozen=True)
class _Candidate:
    wheel: WheelFilename
    group: int  # position of the label in the variant ranking; non-variant = after all
    tag_rank: int
    tag: Tag
    variant: RankedVariant | None


def _best_tag(wheel: WheelFilename, tag_rank: Mapping[Tag, int]) -> tuple[int, Tag] | None:
    best: tuple[int, Tag] | None = None
    for tag in wheel.tags:
        rank = tag_rank.get(tag)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, tag)
    return best


def _label_reason(
    label: str,
    md: VariantMetadata | None,
    ranking: VariantRanking | None,
    rejected: dict[str, Reason],
    wheel: WheelFilename,
) -> Reason:
    if label in rejected:
        return rejected[label]
    if md is None or ranking is None:
        return Reason(
            ReasonCode.NO_METADATA,
            f"{wheel.filename}: no variant metadata for this version, so variant wheels are "
            "incompatible (PEP 817 §6.1 step 5)",
        )
    return Reason(
        ReasonCode.LABEL_NOT_IN_METADATA,
        f"{wheel.filename}: label '{label}' is not in the variant metadata, so the wheel is "
        "incompatible (PEP 817 §6.1 step 6)",
    )


# The last target's tag -> rank map: one resolution asks about the same (immutable) tag tuple
# for every version of every package (about 900 tags on Linux).
_LAST_TAG_RANKS: tuple[tuple[Tag, ...], dict[Tag, int]] | None = None


def _tag_ranks(supported_tags: Sequence[Tag]) -> Mapping[Tag, int]:
    global _LAST_TAG_RANKS
    last = _LAST_TAG_RANKS
    if last is not None and last[0] is supported_tags:
        return last[1]
    ranks: dict[Tag, int] = {}
    for i, tag in enumerate(supported_tags):
        ranks.setdefault(tag, i)
    if isinstance(supported_tags, tuple):
        _LAST_TAG_RANKS = (supported_tags, ranks)
    return ranks


def select_wheels(
    wheels: Sequence[WheelFilename],
    md: VariantMetadata | None,
    supported: SupportedProperties,
    supported_tags: Sequence[Tag],
    prefs: Preferences = DEFAULT_PREFERENCES,
) -> WheelSelection:
    """Order ``wheels`` (one package version) for the target; reject the rest with reasons.

    ``md`` None means the version has no variant metadata: labelled wheels are incompatible
    (PEP 817 §6.1 step 5) unless the user forces that label. A ``null`` wheel is accepted even when
    ``null`` is missing from ``variants`` (digest §6.6). ``supported_tags`` is ordered, most
    preferred first (``packaging.tags.sys_tags()`` order). A request in ``prefs``
    (:func:`request_of`) narrows the candidates to the variants it matches; when it matches none
    of this version, ``missing`` says so and lists the version's variants.
    """
    tag_rank = _tag_ranks(supported_tags)
    request = request_of(prefs)
    prefs = _narrowed(prefs, request, md)
    ranking: VariantRanking | None = None
    if md is not None and prefs.variants_enabled and any(w.label for w in wheels):
        ranking = order_variants(md, supported, prefs)
        if request is not None and request.properties:
            ranking = _with_properties(ranking, md, supported, prefs, request)
    position = {rv.label: i for i, rv in enumerate(ranking.ranked)} if ranking else {}
    variant_of = {rv.label: rv for rv in ranking.ranked} if ranking else {}
    rejected_label = {rv.label: rv.reason for rv in ranking.rejected} if ranking else {}
    non_variant_group = len(position) + 1

    candidates: list[_Candidate] = []
    rejected: list[RejectedWheel] = []
    for wheel in sorted(wheels, key=lambda w: w.filename):
        best = _best_tag(wheel, tag_rank)
        if best is None:
            tags = ", ".join(sorted(str(t) for t in wheel.tags))
            rejected.append(
                RejectedWheel(
                    wheel,
                    Reason(
                        ReasonCode.TAG_MISMATCH,
                        f"{wheel.filename}: tags {tags} do not match the target",
                    ),
                )
            )
            continue
        label = wheel.label
        if label is None:
            if request is not None:
                reason = Reason(
                    ReasonCode.NOT_REQUESTED,
                    f"{wheel.filename}: non-variant wheel, but {request.describe()} was requested",
                )
                rejected.append(RejectedWheel(wheel, reason))
            else:
                candidates.append(_Candidate(wheel, non_variant_group, best[0], best[1], None))
            continue
        reason = _wheel_pre_reason(wheel, label, prefs)
        if reason is not None:
            rejected.append(RejectedWheel(wheel, reason))
            continue
        if label in position:
            candidates.append(
                _Candidate(wheel, position[label], best[0], best[1], variant_of[label])
            )
        elif md is None and prefs.force_variant and prefs.variant == label:
            forced = RankedVariant(label, (), forced=True)
            candidates.append(_Candidate(wheel, 0, best[0], best[1], forced))
        else:
            reason = _label_reason(label, md, ranking, rejected_label, wheel)
            rejected.append(RejectedWheel(wheel, reason))

    candidates.sort(key=lambda c: c.wheel.build, reverse=True)  # higher build first, like pip
    candidates.sort(key=lambda c: (c.group, c.tag_rank))
    ranked = tuple(
        RankedWheel(
            c.wheel,
            c.variant.label if c.variant else None,
            c.variant.properties if c.variant else (),
            _decided_by(c, candidates[i + 1] if i + 1 < len(candidates) else None),
            forced=c.variant is not None and c.variant.forced,
            forced_reason=_forced_reason(c.variant, md, supported),
        )
        for i, c in enumerate(candidates)
    )
    missing = _missing(request, wheels, md) if request is not None else ""
    return WheelSelection(ranked, tuple(rejected), missing)


def _narrowed(
    prefs: Preferences, request: VariantRequest | None, md: VariantMetadata | None
) -> Preferences:
    """``NAME=null`` means the variant without properties: PEP 825 labels it ``null``, but a
    version that publishes it under another label (torch 2.8.0's ``00000000``) still has it."""
    if request is None or not request.is_null or md is None or NULL_LABEL in md.variants:
        return prefs
    empty = sorted(label for label, props in md.variants.items() if not props)
    return replace(prefs, variant=empty[0]) if empty else prefs


def _with_properties(
    ranking: VariantRanking,
    md: VariantMetadata,
    supported: SupportedProperties,
    prefs: Preferences,
    request: VariantRequest,
) -> VariantRanking:
    """Keep the ranked variants that have every requested property; with ``--force-variant``
    and none supported, force the one variant that has them (several: name one by label)."""
    matching = [label for label, props in md.variants.items() if request.matches(label, props)]
    kept = tuple(rv for rv in ranking.ranked if request.matches(rv.label, rv.properties))
    dropped = [
        RejectedVariant(
            rv.label,
            Reason(
                ReasonCode.NOT_REQUESTED,
                f"variant '{rv.label}' lacks "
                + ", ".join(f"'{p}'" for p in request.missing(rv.properties)),
            ),
        )
        for rv in ranking.ranked
        if rv not in kept
    ]
    rejected = [
        rej
        if rej.label in matching
        else RejectedVariant(
            rej.label,
            Reason(
                ReasonCode.NOT_REQUESTED,
                f"variant '{rej.label}' lacks "
                + ", ".join(f"'{p}'" for p in request.missing(md.variants.get(rej.label, ()))),
            ),
        )
        for rej in ranking.rejected
    ]
    if not kept and prefs.force_variant and len(matching) == 1:
        forced = order_variants(md, supported, with_request(prefs, VariantRequest(matching[0])))
        kept = forced.ranked
        rejected = [r for r in rejected if r.label != matching[0]]
    elif not kept and prefs.force_variant and len(matching) > 1:
        rejected = [
            RejectedVariant(
                r.label,
                Reason(
                    r.reason.code,
                    f"{r.reason.message}; --force-variant forces one variant, and "
                    f"{', '.join(sorted(matching))} all have {request}: name one by its label",
                ),
            )
            if r.label in matching
            else r
            for r in rejected
        ]
    rejected = sorted([*rejected, *dropped], key=lambda r: r.label)
    return VariantRanking(kept, tuple(rejected))


def _forced_reason(
    variant: RankedVariant | None, md: VariantMetadata | None, supported: SupportedProperties
) -> str:
    if variant is None or not variant.forced:
        return ""
    if md is None:
        return "this version has no variant metadata, so its properties are unknown"
    why = incompatibility(variant.properties, supported)
    return why.message if why is not None else ""


def _missing(
    request: VariantRequest, wheels: Sequence[WheelFilename], md: VariantMetadata | None
) -> str:
    """One line when ``request`` matches no variant this version has (else empty)."""
    labels = {w.label for w in wheels if w.label is not None}
    if md is not None:
        found = any(request.matches(label, props) for label, props in md.variants.items())
        labels |= set(md.variants)
    else:  # without metadata only a label can be recognised
        found = request.label is not None and request.label in labels
    if found:
        return ""
    first = wheels[0] if wheels else None
    what = f"{first.project} {first.version}" if first is not None else "this version"
    if request.is_null:
        head = f"{what} has no null variant"
    elif request.label is not None:
        head = f"{what} has no variant {request.label}"
    else:
        head = f"no variant of {what} has {request}"
    if not labels:
        return f"{head} (it has no variant wheels)"
    return f"{head} (its variants: {', '.join(labels_of(dict.fromkeys(labels)))})"


def _wheel_pre_reason(wheel: WheelFilename, label: str, prefs: Preferences) -> Reason | None:
    if not prefs.variants_enabled:
        return Reason(
            ReasonCode.VARIANTS_DISABLED,
            f"{wheel.filename}: variant wheels are disabled (non-variant wheels only)",
        )
    if prefs.variant is not None and label != prefs.variant:
        return Reason(
            ReasonCode.NOT_REQUESTED,
            f"{wheel.filename}: label '{label}' is not the requested variant '{prefs.variant}'",
        )
    return None


def _decided_by(first: _Candidate, second: _Candidate | None) -> str:
    if second is None:
        return "last candidate"
    if first.group != second.group and first.variant is not None:
        if second.variant is None:
            what = "null variant" if not first.variant.properties else "variant wheel"
            return f"{what} before non-variant wheels (PEP 817 §6.4)"
        return describe_decision(first.variant, second.variant)
    if first.tag_rank != second.tag_rank:
        return f"platform tag {first.tag} preferred over {second.tag}"
    if first.wheel.build != second.wheel.build:
        return f"build tag {_build(first.wheel)} over {_build(second.wheel)}"
    return "same variant, tag and build: filename order"


def _build(wheel: WheelFilename) -> str:
    return "".join(str(part) for part in wheel.build) if wheel.build else "(none)"
