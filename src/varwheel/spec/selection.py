"""Choose among the wheels of one package version: variant order first, then platform tags.

PEP 825 §"Variant ordering" / PEP 817 §"Suggested implementation logic": compatible wheels are
grouped by variant label, with one more group for non-variant wheels; groups follow the variant
order (null after every other variant, non-variant after null); inside a group wheels follow the
target's platform-tag priority, then the build tag (higher first, like pip). Variant order
dominates tag order. Compatibility and ordering live in ``compat`` and ``ordering``; this module
re-exports them so callers import one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from varwheel.spec.properties import VariantProperty

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
    "SupportedProperties",
    "VariantRanking",
    "WheelSelection",
    "effective_support",
    "incompatibility",
    "is_compatible",
    "order_variants",
    "select_wheels",
]


@dataclass(frozen=True)
class RankedWheel:
    """A candidate, best first. ``label`` is None for a non-variant wheel; ``decided_by`` says
    which key element put it before the next candidate."""

    wheel: WheelFilename
    label: str | None
    properties: tuple[VariantProperty, ...]
    decided_by: str


@dataclass(frozen=True)
class RejectedWheel:
    wheel: WheelFilename
    reason: Reason


@dataclass(frozen=True)
class WheelSelection:
    ranked: tuple[RankedWheel, ...]
    rejected: tuple[RejectedWheel, ...]

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


def _best_tag(wheel: WheelFilename, tag_rank: dict[Tag, int]) -> tuple[int, Tag] | None:
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
    preferred first (``packaging.tags.sys_tags()`` order).
    """
    tag_rank: dict[Tag, int] = {}
    for i, tag in enumerate(supported_tags):
        tag_rank.setdefault(tag, i)
    ranking: VariantRanking | None = None
    if md is not None and prefs.variants_enabled and any(w.label for w in wheels):
        ranking = order_variants(md, supported, prefs)
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
            if prefs.variant is not None:
                reason = Reason(
                    ReasonCode.NOT_REQUESTED,
                    f"{wheel.filename}: non-variant wheel, but variant '{prefs.variant}' was requested",
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
        )
        for i, c in enumerate(candidates)
    )
    return WheelSelection(ranked, tuple(rejected))


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
