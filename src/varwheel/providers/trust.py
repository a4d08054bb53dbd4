"""Trust pins for third-party provider plugins (PEP 817 §"Security": never install or run an
untrusted provider package).

A pin is exactly ``name==version``. A plugin is trusted when every requirement its ``requires``
applies on the target environment names a pinned distribution whose pinned version the
requirement admits; the plugin environment is then built from the pins, never from the ranges in
the (downloaded, untrusted) metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.markers import InvalidMarker as _PackagingInvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import InvalidInput, InvalidMetadata

# A PEP 508 name, then "==", then a public version made of digits, dots and optional pre/post/dev
# segments; no spaces, extras, markers, wildcards, local versions or other operators.
_PIN = (
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)=="
    r"(?P<version>[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?)$"
)


# No real distribution name plus version comes near this; it also keeps every release number
# far below Python's 4300-digit int limit and error lines short.
MAX_PIN_LENGTH = 400


@dataclass(frozen=True, order=True)
class TrustedPin:
    """One trusted distribution: canonical name and exact version."""

    name: NormalizedName
    version: Version

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def parse_pin(text: str, *, origin: str = "--trust-provider") -> TrustedPin:
    """Parse ``name==X.Y.Z`` strictly; ``origin`` (a flag or ``file: key``) is named on error."""
    if isinstance(text, str) and len(text) > MAX_PIN_LENGTH:
        raise InvalidInput(
            f"{origin}: invalid provider pin {_shown(text)}: longer than {MAX_PIN_LENGTH} "
            "characters"
        )
    match = re.fullmatch(_PIN, text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(
            f"{origin}: invalid provider pin {_shown(text)}: expected 'name==version' with an "
            "exact version, e.g. 'nvidia-variant-provider==0.0.2'"
        )
    try:
        version = Version(match["version"])
    except (InvalidVersion, ValueError):  # ValueError: a release number past Python's int limit
        raise InvalidInput(f"{origin}: invalid version in provider pin {_shown(text)}") from None
    return TrustedPin(canonicalize_name(match["name"]), version)


def _shown(text: object) -> str:
    """``repr`` of (the start of) a rejected pin, for a one-line message."""
    if isinstance(text, str) and len(text) > 80:
        return f"{text[:80]!r}..."
    return repr(text)


def parse_pins(texts: Iterable[str], *, origin: str = "--trust-provider") -> tuple[TrustedPin, ...]:
    """Parse many pins; two different versions of one distribution are an error."""
    pins: dict[NormalizedName, TrustedPin] = {}
    for text in texts:
        pin = parse_pin(text, origin=origin)
        other = pins.get(pin.name)
        if other is not None and other != pin:
            raise InvalidInput(f"{origin}: {pin.name} is pinned twice ({other} and {pin})")
        pins[pin.name] = pin
    return tuple(sorted(pins.values()))


def applicable_requirements(
    requires: Iterable[str], target_env: Mapping[str, str], *, namespace: str
) -> tuple[Requirement, ...]:
    """The ``requires`` entries whose markers hold on the target (PEP 817 §"providers").

    Markers are evaluated against the environment the plugin is installed into, i.e. the target.
    """
    applied: list[Requirement] = []
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise InvalidMetadata(
                f"invalid requirement {text!r}: {exc}", path=f"providers.{namespace}.requires"
            ) from exc
        try:
            applies = req.marker is None or req.marker.evaluate(dict(target_env))
        except _PackagingInvalidMarker as exc:  # pragma: no cover - packaging parses eagerly
            raise InvalidMetadata(str(exc), path=f"providers.{namespace}.requires") from exc
        if applies:
            req.marker = None
            applied.append(req)
    return tuple(applied)


def pin_for(requirement: Requirement, pins: Iterable[TrustedPin]) -> TrustedPin | None:
    """The pin naming ``requirement``'s distribution, if the requirement admits its version.

    A direct reference (``name @ URL``) is never admitted: its code is whatever the URL serves,
    which no version pin can vouch for.
    """
    if requirement.url:
        return None
    name = canonicalize_name(requirement.name)
    for pin in pins:
        if pin.name == name and requirement.specifier.contains(pin.version, prereleases=True):
            return pin
    return None


@dataclass(frozen=True)
class TrustDecision:
    """Whether a plugin may be installed and run, with the exact pins to install."""

    trusted: bool
    pins: tuple[TrustedPin, ...] = ()
    reason: str = ""


def decide(requirements: tuple[Requirement, ...], pins: Iterable[TrustedPin]) -> TrustDecision:
    """Trust a plugin only when every applicable requirement is admitted by a pin."""
    pins = tuple(pins)
    if not requirements:
        return TrustDecision(False, reason="no plugin requirement applies to the target")
    chosen: list[TrustedPin] = []
    for req in requirements:
        pin = pin_for(req, pins)
        if pin is None:
            return TrustDecision(False, reason=untrusted_message(req, pins))
        chosen.append(pin)
    return TrustDecision(True, pins=tuple(chosen))


def untrusted_message(req: Requirement, pins: Iterable[TrustedPin]) -> str:
    """One line telling the user why ``req`` is not trusted and how to trust it."""
    name = canonicalize_name(req.name)
    if req.url:
        return (
            f"provider {name!r} is required from a direct URL ({req.url}), which is never "
            "trusted; only index releases can be trusted by pin"
        )
    exact = [
        s.version for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version
    ]
    suggestion = f"{name}=={exact[0]}" if exact else f"{name}==<version>"
    for pin in pins:
        if pin.name == name:
            return (
                f"provider {name!r} is trusted only as {pin}, which the requirement "
                f"'{req}' does not admit; trust it with --trust-provider '{suggestion}'"
            )
    return f"provider {name!r} is not trusted; trust it with --trust-provider '{suggestion}'"
