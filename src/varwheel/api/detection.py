"""``varwheel detect`` as a library: what this machine supports per native provider, in the
user's words, and the profile that describes the whole machine (``--output``).

A profile written here records, besides ``[properties]``, the Python side of the machine in
its ``[profile]`` header (``python-version``, ``implementation``, ``abis``, ``platform-tags``,
``[profile.markers]``): ``--profile FILE`` on another machine then implies that Python version,
implementation, ABIs, platform tags and markers unless cross-target options override them
(``varwheel.target.Target.with_profile``), and ``varwheel lock --profile`` locks for it.

(Named ``detection``, not ``detect``: a submodule ``varwheel.api.detect`` would replace the
``varwheel.api.detect`` function as an attribute of the package once imported.)
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.errors import InvalidInput
from varwheel.reporter import Reporter
from varwheel.settings import Settings

if TYPE_CHECKING:
    from varwheel.providers.detect import NamespaceResult

__all__ = ["Detection", "NamespaceSummary", "Support", "detect_machine", "machine_facts"]


class Support(str, enum.Enum):
    """What one provider answered: properties, nothing on this machine, or no answer."""

    SUPPORTED = "supported"
    NOTHING = "nothing"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class NamespaceSummary:
    """One provider answer as ``detect`` shows it: ``text`` is the supported features (most
    preferred first) or why there are none, in the user's words."""

    namespace: str
    source: str
    cached: bool
    support: Support
    text: str


@dataclass(frozen=True)
class Detection:
    """``detect_machine``'s answer: each namespace's provider answer (``results``), and the
    profile written (``profile``) with the machine facts it records (``machine``)."""

    results: tuple[NamespaceResult, ...]
    profile: Path | None = None
    machine: Mapping[str, Any] | None = None

    def summary(self) -> tuple[NamespaceSummary, ...]:
        """One line per namespace (``providers.summary.describe``)."""
        from varwheel.providers.summary import describe

        out = []
        for r in self.results:
            support = (
                Support.UNAVAILABLE
                if r.properties is None
                else (Support.NOTHING if not r.properties else Support.SUPPORTED)
            )
            out.append(NamespaceSummary(r.namespace, r.source, r.cached, support, describe(r)))
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        """The stable ``detect --json`` document."""
        from varwheel.providers.summary import describe

        return {
            "namespaces": {
                r.namespace: {
                    "source": r.source,
                    "supported": None
                    if r.properties is None
                    else {f: list(v) for f, v in r.properties.items()},
                    "reason": r.reason or (describe(r) if not r.properties else None),
                    "cached": r.cached,
                    "seconds": round(r.seconds, 6),
                }
                for r in self.results
            }
        }


def machine_facts(environment: Any = None) -> dict[str, Any]:
    """The ``[profile]`` keys that describe ``environment``'s interpreter (default: the
    running one): ``python-version``, ``implementation``, ``abis``, ``platform-tags``,
    ``markers``."""
    from varwheel.lock.targets import machine_of

    if environment is None:
        from varwheel.install.environment import current_environment

        environment = current_environment()
    return machine_of(environment)


def detect_machine(
    settings: Settings,
    namespaces: Sequence[str] | None = None,
    *,
    output: str | os.PathLike[str] | None = None,
    reporter: Reporter | None = None,
) -> Detection:
    """Run the native providers (or read the settings' profile) for ``namespaces`` (default:
    all) and, with ``output``, write what they found as a whole-machine profile (atomically).
    ``InvalidInput`` for a malformed namespace or an unwritable ``output``."""
    from varwheel.api import detect
    from varwheel.fsutil import atomic_write
    from varwheel.providers.profile import dump_profile
    from varwheel.spec.properties import NAMESPACE_RE

    for ns in namespaces or ():
        if not NAMESPACE_RE.fullmatch(ns):
            raise InvalidInput(f"--namespace: invalid namespace {ns!r}")
    results = tuple(detect(settings, namespaces, reporter=reporter))
    if output is None:
        return Detection(results)
    path = Path(output)
    known = {r.namespace: dict(r.properties) for r in results if r.properties is not None}
    try:
        # the whole machine: Python version, tags and markers too (varwheel lock --profile)
        machine = machine_facts()
        atomic_write(path, dump_profile(known, machine=machine).encode())
    except OSError as exc:
        raise InvalidInput(
            f"--output {path}: cannot write the profile: {exc.strerror or exc}"
        ) from None
    return Detection(results, path, machine)
