"""Parsing requirement strings from the command line and requirements files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from packaging.requirements import InvalidRequirement, Requirement

from varwheel.errors import InvalidInput
from varwheel.safeparse import too_long_number_reason
from varwheel.spec.filenames import is_project_name


def parse_requirement(text: str, *, source: str = "command line") -> Requirement:
    reason = too_long_number_reason(text)
    if reason is not None:
        # packaging would accept it and raise a bare ValueError when comparing versions
        shown = text if len(text) <= 200 else f"{text[:200]}...({len(text)} chars)"
        raise InvalidInput(f"{source}: invalid requirement {shown!r}: holds {reason}")
    try:
        req = Requirement(text)
    except InvalidRequirement as err:
        # packaging's message spans three lines (reason, the text, a caret): keep one line
        lines = str(err).splitlines()
        where = ""
        if len(lines) >= 3 and "^" in lines[-1]:
            where = f" (at column {lines[-1].index('^') - 3})"
        raise InvalidInput(f"{source}: invalid requirement {text!r}: {lines[0]}{where}") from err
    if not is_project_name(req.name):
        raise InvalidInput(
            f"{source}: invalid requirement {text!r}: {req.name!r} is not a valid project name "
            "(PEP 508: letters, digits and . _ - inside)"
        )
    return req


def ignored_by_markers(
    reqs: Iterable[Requirement], marker_env: Mapping[str, str]
) -> list[Requirement]:
    """Requested requirements whose markers are false for the target (pip says so too)."""
    env = dict(marker_env)
    ignored = []
    for req in reqs:
        try:
            if req.marker is not None and not req.marker.evaluate(env):
                ignored.append(req)
        except ValueError as err:  # a version past int()'s digit limit inside the marker
            raise InvalidInput(f"cannot evaluate the marker of {str(req)[:200]!r}: {err}") from None
    return ignored
