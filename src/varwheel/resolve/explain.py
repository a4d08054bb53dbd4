"""Structures for ``varwheel explain``: every wheel of the chosen version with its verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from varwheel.codes import ExplainStatus
from varwheel.resolve.candidates import Candidate, VersionChoice
from varwheel.resolve.finder import Finder
from varwheel.resolve.older import older_variant_note
from varwheel.resolve.provider import _pinned
from varwheel.resolve.wording import plain_decision, rule_source


@dataclass(frozen=True)
class WheelVerdict:
    filename: str
    label: str | None
    status: ExplainStatus
    rank: int | None = None  # 1-based position among compatible wheels
    decided_by: str = ""  # ranked wheels: the key that put it where it is
    reason_code: str = ""  # rejected wheels
    reason: str = ""
    properties: tuple[str, ...] = ()
    forced: bool = False  # ranked only through --force-variant: the target does not support it
    why: str = ""  # ranked wheels: the ranking step in plain English (resolve.wording)
    source: str = ""  # ranked wheels: the PEP section behind ``decided_by`` (resolve.wording)


@dataclass(frozen=True)
class SkippedRelease:
    version: str
    reason: str


@dataclass(frozen=True)
class PackageExplanation:
    requirement: str
    name: str
    version: str | None
    chosen: str | None
    chosen_label: str | None
    decided_by: str
    route: str | None
    wheels: tuple[WheelVerdict, ...]
    sdists: tuple[str, ...]
    skipped: tuple[SkippedRelease, ...]
    supported: dict[str, dict[str, list[str]]]
    unavailable: dict[str, str]
    dependencies: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()


DependencyFunction = Callable[[Candidate], Sequence[Requirement]]


def explain_requirement(
    req: Requirement, finder: Finder, *, dependencies_of: DependencyFunction | None = None
) -> PackageExplanation:
    """The version pip-style ordering would pick for ``req`` alone, and why each wheel of it
    was ranked or rejected. Versions without any usable file are listed as skipped."""
    name = canonicalize_name(req.name)
    skipped: list[SkippedRelease] = []
    shown: VersionChoice | None = None
    for choice in finder.iter_choices(name, req.specifier, pinned=_pinned(req.specifier)):
        if shown is None:
            shown = choice
        if choice.candidate is not None:
            shown = choice
            break
        skipped.append(SkippedRelease(str(choice.release.version), choice.skip_reason))
    if shown is None:
        return PackageExplanation(
            str(req),
            name,
            None,
            None,
            None,
            "",
            None,
            (),
            (),
            (),
            {},
            {},
            notes=(_why_none(finder, name, req),),
        )
    if shown.candidate is not None:
        skipped = [s for s in skipped if s.version != str(shown.release.version)]
    deps = None
    if dependencies_of is not None and shown.candidate is not None:
        deps = tuple(str(d) for d in dependencies_of(shown.candidate))
    expl = _from_choice(str(req), shown, tuple(skipped), deps)
    older = older_variant_note(finder, name, req.specifier, shown)
    if older:
        expl = replace(expl, notes=(*expl.notes, older))
    elsewhere = _variants_elsewhere(finder, name)
    return replace(expl, notes=(*expl.notes, *elsewhere)) if elsewhere else expl


def _variants_elsewhere(finder: Finder, name: NormalizedName) -> tuple[str, ...]:
    """pip's habit ``--extra-index-url VARIANT_INDEX`` under ``first-index``: say which other
    configured index has variant wheels of ``name`` and how to get them."""
    look = getattr(finder.source, "variants_elsewhere", None)
    if look is None or name in finder.direct:  # a local wheel: the indexes are not asked
        return ()
    notes = []
    for seen in look(name):
        labels = ", ".join(seen.labels[:8]) + (", ..." if len(seen.labels) > 8 else "")
        came = f" (taken from {', '.join(seen.used)})" if seen.used else ""
        why = "it is pinned to another index" if seen.pinned else "first-index took it earlier"
        fix = f"use --index-for {name}={seen.index}"
        if not seen.pinned:
            fix += " or --index-strategy unsafe-best-match"
        notes.append(
            f"the index {seen.index} has {name} {seen.version} with variants {labels}, "
            f"not considered because {why}{came}; to get them, {fix}"
        )
    return tuple(notes)


def _why_none(finder: Finder, name: NormalizedName, req: Requirement) -> str:
    """The resolver's words for an empty answer: not listed, left out (Requires-Python,
    yanked), or no version matches (with the newest that exist)."""
    available = sorted(finder.releases(name))
    if not available:
        return f"no distributions of {name} found {finder.searched()}"
    ignored = finder.excluded(name, req.specifier)
    if ignored:
        return f"no usable version of {name} matches {req}; ignored " + "; ".join(ignored)
    shown = ", ".join(str(v) for v in available[-5:])
    return f"no version of {name} matches {req.specifier or 'any'} (available: {shown})"


def _from_choice(
    requirement: str,
    choice: VersionChoice,
    skipped: tuple[SkippedRelease, ...],
    deps: tuple[str, ...] | None,
) -> PackageExplanation:
    cand = choice.candidate
    verdicts: list[WheelVerdict] = []
    if choice.selection is not None:
        total = len(choice.selection.ranked)
        for i, ranked in enumerate(choice.selection.ranked, start=1):
            chosen = cand is not None and cand.wheel == ranked.wheel
            decided_by = ranked.decided_by
            if ranked.forced:
                why = f" ({ranked.forced_reason})" if ranked.forced_reason else ""
                decided_by = f"FORCED by --force-variant, not supported by this target{why}"
            verdicts.append(
                WheelVerdict(
                    ranked.wheel.filename,
                    ranked.label,
                    ExplainStatus.CHOSEN if chosen else ExplainStatus.COMPATIBLE,
                    rank=i,
                    decided_by=decided_by,
                    properties=tuple(str(p) for p in ranked.properties),
                    forced=ranked.forced,
                    why=decided_by
                    if ranked.forced
                    else plain_decision(ranked.decided_by, rank=i, compatible=total, chosen=chosen),
                    source=rule_source(decided_by),
                )
            )
        for rej in choice.selection.rejected:
            props = ()
            md = choice.metadata
            if md is not None and rej.wheel.label is not None:
                props = tuple(str(p) for p in md.variants.get(rej.wheel.label, ()))
            verdicts.append(
                WheelVerdict(
                    rej.wheel.filename,
                    rej.wheel.label,
                    ExplainStatus.REJECTED,
                    reason_code=rej.reason.code,
                    reason=rej.reason.message,
                    properties=props,
                )
            )
    support = choice.support
    supported: dict[str, dict[str, list[str]]] = {}
    unavailable: dict[str, str] = {}
    if support is not None:
        supported = {
            ns: {f: list(vals) for f, vals in feats.items()}
            for ns, feats in sorted(support.properties.items())
        }
        unavailable = dict(sorted(support.unavailable.items()))
    notes = list(choice.notes)
    if cand is not None and cand.forced:
        why = f": {cand.forced_reason}" if cand.forced_reason else ""
        notes.append(
            f"variant {cand.label} is forced by --force-variant; this target does not support "
            f"it{why}"
        )
    if cand is None:
        notes.append(f"no usable file: {choice.skip_reason}")
    elif cand.is_sdist:
        notes.append("no compatible wheel: the sdist will be built into a non-variant wheel")
    return PackageExplanation(
        requirement=requirement,
        name=choice.release.name,
        version=str(choice.release.version),
        chosen=cand.filename if cand is not None else None,
        chosen_label=cand.label if cand is not None else None,
        decided_by=cand.decided_by if cand is not None else "",
        route=choice.route,
        wheels=tuple(verdicts),
        sdists=tuple(f.filename for f in choice.release.sdists),
        skipped=skipped,
        supported=supported,
        unavailable=unavailable,
        dependencies=deps,
        notes=tuple(notes),
    )


def to_json(expl: PackageExplanation) -> dict[str, Any]:
    """Stable JSON form (keys documented in the README under ``varwheel explain --json``)."""
    return {
        "requirement": expl.requirement,
        "name": expl.name,
        "version": expl.version,
        "chosen": {
            "filename": expl.chosen,
            "label": expl.chosen_label,
            "decided_by": expl.decided_by,
            "forced": any(w.forced and w.status == ExplainStatus.CHOSEN for w in expl.wheels),
        }
        if expl.chosen is not None
        else None,
        "metadata_route": expl.route,
        "wheels": [
            {
                "filename": w.filename,
                "label": w.label,
                "status": w.status,
                "rank": w.rank,
                "decided_by": w.decided_by or None,
                "why": w.why or None,
                "rule_source": w.source or None,
                "reason": {"code": w.reason_code, "message": w.reason} if w.reason_code else None,
                "properties": list(w.properties),
                "forced": w.forced,
            }
            for w in expl.wheels
        ],
        "sdists": list(expl.sdists),
        "skipped_versions": [{"version": s.version, "reason": s.reason} for s in expl.skipped],
        "target": {"supported": expl.supported, "unavailable": expl.unavailable},
        "dependencies": list(expl.dependencies) if expl.dependencies is not None else None,
        "notes": list(expl.notes),
    }
