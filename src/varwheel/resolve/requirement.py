"""Parsing requirement strings from the command line and requirements files."""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement

from varwheel.errors import InvalidInput


def parse_requirement(text: str, *, source: str = "command line") -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as err:
        # packaging's message spans three lines (reason, the text, a caret): keep one line
        lines = str(err).splitlines()
        where = ""
        if len(lines) >= 3 and "^" in lines[-1]:
            where = f" (at column {lines[-1].index('^') - 3})"
        raise InvalidInput(f"{source}: invalid requirement {text!r}: {lines[0]}{where}") from err
