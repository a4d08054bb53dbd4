"""Parsing requirement strings from the command line and requirements files."""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement

from varwheel.errors import InvalidInput


def parse_requirement(text: str, *, source: str = "command line") -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as err:
        raise InvalidInput(f"{source}: invalid requirement {text!r}: {err}") from err
