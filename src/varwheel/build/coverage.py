"""``varwheel matrix --coverage``: which declared variant each target machine gets.

A machine is a profile (docs/configuration.md#profiles): one of the representative machines
shipped in ``varwheel/build/machines/`` or a user's ``varwheel detect --output`` file. For each,
the project's ``[variant]`` table plus the declared variants are ranked with the machine's
support exactly as an installer would (``spec.selection``: ``effective_support`` then
``order_variants``); the machine gets the best declared variant, else the null variant when it
is shipped, else the non-variant wheel, else nothing. Platform tags are not modelled: a machine
of another architecture than the wheels is reported like any other (its CPU namespace is empty).
"""

from __future__ import annotations

import enum
import fnmatch
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.markers import default_environment

from varwheel.build.machines import MACHINES, MACHINES_DIR
from varwheel.build.matrix import BuildMatrix
from varwheel.errors import InvalidInput, InvalidProfile
from varwheel.providers.profile import parse_profile
from varwheel.spec.model import VariantMetadata
from varwheel.spec.selection import SupportedProperties, effective_support, order_variants

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CoverageReport",
    "Machine",
    "MachineCoverage",
    "Outcome",
    "coverage",
    "load_machine",
    "resolve_machines",
    "shipped_machines",
]

_MARKER_KEYS = frozenset(default_environment())


@dataclass(frozen=True)
class Machine:
    """A target: its supported properties and the marker values ``enable-if`` sees there
    (``[profile.markers]`` of the file; missing keys come from this interpreter)."""

    name: str
    support: SupportedProperties
    description: str = ""
    markers: Mapping[str, str] = field(default_factory=dict)
    source: str = ""


class Outcome(enum.Enum):
    """What a machine gets from the declared set."""

    VARIANT = "variant"
    NULL = "null"  # falls back to the null variant
    PLAIN = "non-variant"  # falls back to the non-variant wheel
    NONE = "nothing"  # no declared wheel installs there


@dataclass(frozen=True)
class MachineCoverage:
    """One representative machine: what it gets, and which declared variants fit it."""

    machine: Machine
    outcome: Outcome
    label: str | None  # the variant label, ``null``, or None
    compatible: tuple[str, ...]  # declared variants compatible there, best first
    reason: str = ""  # for a fallback: why the first declared variant does not fit


@dataclass(frozen=True)
class CoverageReport:
    """``varwheel matrix --coverage``: every machine's outcome and the variants none gets."""

    machines: tuple[MachineCoverage, ...]
    unselected: tuple[str, ...]  # declared variants no machine gets
    incompatible: tuple[str, ...]  # declared variants compatible with no machine at all


def _header(data: bytes, source: str) -> tuple[str, dict[str, str]]:
    """``description`` and ``markers`` of ``[profile]`` (a profile reader ignores both)."""
    header = tomllib.loads(data.decode("utf-8")).get("profile", {})
    description = header.get("description", "")
    markers = header.get("markers", {})
    if not isinstance(description, str):
        raise InvalidProfile(f"{source}: profile.description must be a string")
    if not isinstance(markers, dict) or not all(
        isinstance(k, str) and k in _MARKER_KEYS and isinstance(v, str) for k, v in markers.items()
    ):
        raise InvalidProfile(
            f"{source}: profile.markers must map PEP 508 environment names to strings"
        )
    return description, markers


def load_machine(path: Path, name: str | None = None) -> Machine:
    """A machine from a profile file; raises :class:`InvalidProfile` naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidProfile(f"{path}: cannot read profile: {exc.strerror or exc}") from None
    support = parse_profile(data, source=str(path))  # validates the TOML and the properties
    description, markers = _header(data, str(path))
    return Machine(name or path.stem, support, description, markers, str(path))


def shipped_machines() -> tuple[Machine, ...]:
    """The representative machines varwheel ships, in ``MACHINES`` order (CPUs, then GPUs)."""
    rank = {spec.name: i for i, spec in enumerate(MACHINES)}
    paths = sorted(MACHINES_DIR.glob("*.toml"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    return tuple(load_machine(p) for p in paths)


def resolve_machines(items: Sequence[str]) -> tuple[Machine, ...]:
    """Machines named on the command line: a profile file, a shipped machine's name or glob
    (``nvidia-*``), or ``shipped`` for all of them; none given = all shipped machines."""
    shipped = shipped_machines()
    if not items:
        return shipped
    chosen: dict[str, Machine] = {}
    for item in items:
        path = Path(item)
        if path.is_file():
            machine = load_machine(path)
            chosen[machine.source] = machine
            continue
        matches = [m for m in shipped if item == "shipped" or fnmatch.fnmatchcase(m.name, item)]
        if not matches:
            names = ", ".join(m.name for m in shipped)
            raise InvalidInput(
                f"--coverage {item}: no such profile file or shipped machine (shipped: {names})"
            )
        for machine in matches:
            chosen[machine.source] = machine
    return tuple(chosen.values())


def _with_variants(md: VariantMetadata, matrix: BuildMatrix) -> VariantMetadata:
    variants = {e.label: e.properties for e in matrix.variants if e.label is not None}
    return replace(md, variants=variants)


def _one(
    md: VariantMetadata,
    matrix: BuildMatrix,
    machine: Machine,
    enabled_optional: Collection[str],
) -> MachineCoverage:
    env = {**default_environment(), **machine.markers}
    support = effective_support(
        md, machine.support, marker_env=env, enabled_optional=enabled_optional
    )
    ranking = order_variants(md, support)
    compatible = tuple(label for label in ranking.labels if md.variants.get(label))
    if compatible:
        return MachineCoverage(machine, Outcome.VARIANT, compatible[0], compatible)
    declared = [e.label for e in matrix.variants]
    rejected = {r.label: r.reason.message for r in ranking.rejected}
    reason = next((f"{lb}: {rejected[lb]}" for lb in declared if lb in rejected), "")
    if matrix.ships_null:
        return MachineCoverage(machine, Outcome.NULL, "null", (), reason)
    if matrix.ships_plain:
        return MachineCoverage(machine, Outcome.PLAIN, None, (), reason)
    return MachineCoverage(machine, Outcome.NONE, None, (), reason)


def coverage(
    matrix: BuildMatrix,
    md: VariantMetadata,
    machines: Iterable[Machine],
    *,
    enabled_optional: Collection[str] = (),
) -> CoverageReport:
    """Which declared wheel each machine gets (optional providers off unless enabled, as an
    installer's default)."""
    full = _with_variants(md, matrix)
    rows = tuple(_one(full, matrix, m, enabled_optional) for m in machines)
    chosen = {r.label for r in rows}
    reachable = {label for r in rows for label in r.compatible}
    declared = [e.label for e in matrix.variants if e.label is not None]
    return CoverageReport(
        rows,
        tuple(lb for lb in declared if lb not in chosen),
        tuple(lb for lb in declared if lb not in reachable),
    )
