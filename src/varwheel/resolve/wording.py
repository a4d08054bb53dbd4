"""Plain-English words for a ranking step of ``varwheel explain``.

The ranking code states each decision tersely and with its PEP section (``decided_by``, kept
unchanged in ``--json`` and shown under ``--verbose``); this module says the same thing the
way a user would: which wheel is preferred over the next one, and because of what.
"""

from __future__ import annotations

import re

_PROP = r"(?P<{0}>[^:()]+?) :: (?P<{0}f>[^:()]+?) :: (?P<{0}v>[^:()]+?)"


def _prop(name: str) -> str:
    return _PROP.format(name)


_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"^sdist fallback$", "no compatible wheel: the sdist is built into a non-variant wheel"),
        (
            r"^variant '(?P<l>[^']*)' forced by the user$",
            "variant {l} was forced (--force-variant)",
        ),
        (
            r"^label '(?P<a>[^']*)' before '(?P<b>[^']*)' \(both without properties\)$",
            "neither {a} nor {b} has properties: {a} comes first by name",
        ),
        (
            r"^variant '(?P<a>[^']*)' before the null variant \(PEP 825: null sorts last\)$",
            "variant {a} matches this machine, so it is preferred over the null variant "
            "(the fallback for machines that match no variant)",
        ),
        (
            r"^variant '(?P<a>[^']*)' has properties, '(?P<b>[^']*)' has none$",
            "variant {a} matches this machine; {b} has no properties, so it comes after",
        ),
        (
            r"^namespace (?P<na>\S+) ranks before (?P<nb>\S+) \("
            + _prop("p")
            + " vs "
            + _prop("q")
            + r"\)$",
            "its {p} {pf} {pv} is preferred over the next wheel's {q} {qf} {qv}: "
            "the package ranks namespace {na} before {nb}",
        ),
        (
            r"^feature (?P<fa>\S+) ranks before (?P<fb>\S+) \("
            + _prop("p")
            + " vs "
            + _prop("q")
            + r"\)$",
            "its {p} {pf} {pv} is preferred over the next wheel's {q} {qf} {qv}: "
            "the package ranks feature {pf} before {qf}",
        ),
        (
            r"^" + _prop("p") + r" ranks before (?P<v>.+)$",
            "{p} {pf} {pv} is preferred over {v} by the package's priority order "
            "(then its provider's)",
        ),
        (
            r"^same best properties as '(?P<b>[^']*)' plus (?P<x>.+) \(more properties win\)$",
            "it matches everything {b} does and also {x}: the closer match is preferred",
        ),
        (
            r"^label '(?P<a>[^']*)' before '(?P<b>[^']*)' \(equal property ranks, "
            r"PEP 825 tie-break\)$",
            "{a} and {b} match this machine equally well: {a} comes first by name",
        ),
        (
            r"^(?P<w>null variant|variant wheel) before non-variant wheels \(PEP 817 §6\.4\)$",
            "a {w} that fits this machine is preferred over the non-variant wheel",
        ),
        (
            r"^platform tag (?P<a>\S+) preferred over (?P<b>\S+)$",
            "its platform tag {a} fits this interpreter better than {b}",
        ),
        (
            r"^build tag (?P<a>\S+) over (?P<b>.+)$",
            "same wheel otherwise: the higher build number {a} is preferred over {b}",
        ),
        (
            r"^same variant, tag and build: filename order$",
            "same variant, tag and build as the next wheel: the first by file name",
        ),
    )
)


def plain_decision(decided_by: str, *, rank: int | None, compatible: int, chosen: bool) -> str:
    """``decided_by`` of the wheel at ``rank`` (1-based) of ``compatible`` ranked wheels, in
    plain English; an unknown wording is returned unchanged."""
    text = decided_by.strip()
    if text in ("last candidate", "last compatible variant"):
        if compatible <= 1:
            return "the only compatible wheel left" if chosen else "the only compatible wheel"
        return "the last of the compatible wheels: every wheel above is preferred"
    for pattern, words in _RULES:
        match = pattern.match(text)
        if match is not None:
            parts = {k: (v or "").strip() for k, v in match.groupdict().items()}
            return words.format(**parts)
    return text


# Where each ranking rule comes from, for ``explain --verbose`` (section numbers as in the
# project's spec digest, which the other messages cite too).
_SOURCES: tuple[tuple[str, str], ...] = (
    (r" ranks before | more properties win|equal property ranks", "PEP 817 §6.4 variant ordering"),
    (
        r"^platform tag |^build tag |filename order$",
        "PEP 825 §6.5: tags order wheels within a variant",
    ),
    (r"forced by the user", "PEP 825 §6.7: a user may select a variant"),
)


def rule_source(decided_by: str) -> str:
    """The PEP section behind ``decided_by``, or ``""`` when it names one already or none
    applies."""
    if "PEP " in decided_by:
        return ""
    for pattern, source in _SOURCES:
        if re.search(pattern, decided_by):
            return source
    return ""
