"""``Target``: the machine wheels are chosen for, as pure data.

A target is what selection reads: Python version and implementation, the supported tags (most
preferred first, hence the ABIs and platforms), the marker environment, and where variant
support comes from (this machine's providers, run for ``interpreter`` when there is one, or a
profile). It has no paths: the environment on disk (prefix, scheme directories, lock,
recovery) is ``install.environment.TargetEnvironment``. One model for the three ways to get
one: a real interpreter (``from_environment``), cross-target options (``with_overrides``, as
pip's ``--python-version/--platform/--implementation/--abi``), or a profile (``with_profile``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from packaging.tags import Tag

    from varwheel.install.environment import TargetEnvironment

__all__ = ["CrossTarget", "Target"]


@dataclass(frozen=True)
class CrossTarget:
    """pip's cross-target options; all empty: the interpreter's own facts."""

    python_version: str | None = None
    platforms: tuple[str, ...] = ()
    implementation: str | None = None
    abis: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.python_version or self.platforms or self.implementation or self.abis)

    def flags(self) -> tuple[str, ...]:
        """The options as command-line words (for messages)."""
        out = [f"--python-version {self.python_version}"] if self.python_version else []
        out += [f"--platform {p}" for p in self.platforms]
        out += [f"--implementation {self.implementation}"] if self.implementation else []
        out += [f"--abi {a}" for a in self.abis]
        return tuple(out)


@dataclass(frozen=True)
class Target:
    """What a wheel is chosen for. ``interpreter`` is the real interpreter these facts come
    from (trusted plugins run for it; its installed distributions feed ``abi_dependency``),
    None for another machine. ``profile``: variant support is read from this profile instead
    of running any provider."""

    tags: tuple[Tag, ...]
    marker_env: Mapping[str, str] = field(compare=False)
    python_version: str
    implementation: str
    interpreter: Path | None = None
    profile: Path | None = None
    facts: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_environment(cls, env: TargetEnvironment) -> Target:
        """The target of a real interpreter (``TargetEnvironment``, or anything with its
        ``tags``/``marker_env``/``python_version``/``implementation``/``python``)."""
        return cls(
            tags=tuple(env.tags),
            marker_env=MappingProxyType(dict(env.marker_env)),
            python_version=env.python_version,
            implementation=env.implementation,
            interpreter=env.python,
            facts=getattr(env, "facts", {}),
        )

    @classmethod
    def current(cls) -> Target:
        """The target of the running interpreter."""
        from varwheel.install.environment import current_environment

        return cls.from_environment(current_environment())

    @property
    def is_cross(self) -> bool:
        """Another machine than ``interpreter``'s: its installed distributions do not count."""
        return self.interpreter is None

    @property
    def abis(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.abi for t in self.tags))

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.platform for t in self.tags if t.platform != "any"))

    def with_overrides(self, cross: CrossTarget) -> Target:
        """This target with pip's cross-target options applied (another machine: the result
        has no ``interpreter``)."""
        if not cross:
            return self
        if not self.facts:
            raise ValueError("cross-target options need a target built from an interpreter")
        from varwheel.install.environment import override_facts

        over = override_facts(
            self.facts,
            self.marker_env,
            python_version=cross.python_version,
            platforms=cross.platforms,
            implementation=cross.implementation,
            abis=cross.abis,
        )
        return replace(
            self,
            tags=over.tags,
            marker_env=over.marker_env,
            python_version=over.python_version,
            implementation=over.implementation or self.implementation,
            interpreter=None,
            facts=over.facts,
        )

    def with_profile(self, profile: Path | None) -> Target:
        """Variant support read from ``profile`` (``varwheel detect --output``) instead of
        running providers; tags and markers stay this target's (``install/explain --profile``)."""
        return replace(self, profile=profile)

    def from_profile(self, profile: Path) -> Target:
        """The machine a profile describes: variant support from it and, when it records a
        whole machine (its ``[profile]`` Python keys), its tags and markers too; a
        hardware-only profile keeps this target's Python side (``lock --profile``)."""
        from varwheel.lock.targets import read_machine

        machine, _digest = read_machine(profile)
        if machine is None:
            return replace(self, profile=profile)
        markers = {**dict(self.marker_env), **dict(machine.markers)}
        markers.setdefault("python_version", machine.python_version)
        return replace(
            self,
            tags=machine.tags(),
            marker_env=MappingProxyType(markers),
            python_version=machine.python_version,
            implementation=machine.implementation,
            interpreter=None,
            profile=profile,
        )

    @classmethod
    def from_tags(
        cls,
        tags: Sequence[Tag],
        marker_env: Mapping[str, str],
        *,
        profile: Path | None = None,
    ) -> Target:
        """A target given directly (tests, a lock's recorded machine)."""
        return cls(
            tags=tuple(tags),
            marker_env=MappingProxyType(dict(marker_env)),
            python_version=str(marker_env.get("python_version", "")),
            implementation=str(marker_env.get("implementation_name", "cpython")),
            profile=profile,
        )
