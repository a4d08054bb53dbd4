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
    # the cross-target options applied so far: a whole-machine profile given afterwards
    # replaces the Python side, then these apply again ("the profile unless overridden")
    overrides: CrossTarget = field(default_factory=CrossTarget, compare=False, repr=False)
    # what made this another machine than ``interpreter``'s (option words, for messages)
    described_by: tuple[str, ...] = field(default=(), compare=False, repr=False)

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
            overrides=_merged(self.overrides, cross),
            described_by=tuple(dict.fromkeys((*self.described_by, *cross.flags()))),
        )

    def with_profile(self, profile: Path | None) -> Target:
        """Variant support read from ``profile`` (``varwheel detect --output``) instead of
        running providers. A profile that records a whole machine (its ``[profile]`` Python
        keys: version, implementation, ABIs, platform tags, markers) of another platform (OS
        or CPU architecture) than this target's interpreter, or given with cross-target
        options, also gives the Python side: the target becomes that machine, with the
        cross-target options applied to this target over it key by key. On the interpreter's
        own platform the interpreter stays the target (it is what is installed into; a
        profile from this machine made with another Python must not turn every install into a
        cross one): use ``--python-version`` etc. to describe another Python there. A
        hardware-only profile keeps this target's tags and markers."""
        if profile is None:
            return replace(self, profile=None)
        from varwheel.lock.targets import read_machine

        machine, _digest = read_machine(profile)
        if machine is None or (not self.is_cross and _same_platform(self, machine)):
            return replace(self, profile=profile)
        return self.from_profile(profile)

    def from_profile(self, profile: Path) -> Target:
        """The machine a profile describes: variant support from it and, when it records a
        whole machine (its ``[profile]`` Python keys), its tags and markers too, with the
        cross-target options applied to this target over them; a hardware-only profile keeps
        this target's Python side (``lock --profile``)."""
        from varwheel.lock.targets import read_machine

        machine, _digest = read_machine(profile)
        if machine is None:
            return replace(self, profile=profile)
        markers = {**dict(self.marker_env), **dict(machine.markers)}
        markers.setdefault("python_version", machine.python_version)
        major, minor = (int(p) for p in machine.python_version.split(".")[:2])
        facts = {
            "version_info": [major, minor, 0],
            "implementation": machine.implementation,
            "py_version_nodot": f"{major}{minor}",
        }
        described = replace(
            self,
            tags=machine.tags(),
            marker_env=MappingProxyType(markers),
            python_version=machine.python_version,
            implementation=machine.implementation,
            interpreter=None,
            profile=profile,
            facts=MappingProxyType(facts),
            overrides=CrossTarget(),
            described_by=(f"--profile {profile}",),
        )
        cross = self.overrides
        if not cross:
            return described
        # an overridden version or implementation has its own default ABI, not the profile's
        abis = cross.abis or (() if cross.python_version or cross.implementation else machine.abis)
        from varwheel.install.environment import override_facts

        over = override_facts(
            facts,
            markers,
            python_version=cross.python_version,
            platforms=cross.platforms or machine.platform_tags,
            implementation=cross.implementation,
            abis=abis,
        )
        return replace(
            described,
            tags=over.tags,
            marker_env=over.marker_env,
            python_version=over.python_version,
            implementation=over.implementation or machine.implementation,
            facts=over.facts,
            overrides=cross,
            described_by=(*described.described_by, *cross.flags()),
        )

    def not_installable_reason(self) -> str | None:
        """Why files chosen for this target cannot be installed into its interpreter's
        environment (another machine's target: cross-target options or a profile of another
        machine), or None."""
        if not self.is_cross:
            return None
        what = " ".join(self.described_by) or "the target"
        return (
            f"{what}: describes another machine ({self.describe()}) than the environment: "
            "use it with --dry-run, or install on that machine (or with --python PATH)"
        )

    def describe(self) -> str:
        """``CPython 3.12, manylinux_2_39_aarch64``: the implementation, Python version and
        most preferred platform tag, for messages."""
        names = {"cpython": "CPython", "pypy": "PyPy"}
        impl = names.get(self.implementation, self.implementation)
        platform = self.platforms[0] if self.platforms else "any platform"
        return f"{impl} {self.python_version}, {platform}"

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


def _merged(first: CrossTarget, then: CrossTarget) -> CrossTarget:
    """``then``'s options over ``first``'s, key by key."""
    return CrossTarget(
        python_version=then.python_version or first.python_version,
        platforms=then.platforms or first.platforms,
        implementation=then.implementation or first.implementation,
        abis=then.abis or first.abis,
    )


def _same_platform(target: Target, machine: Any) -> bool:
    """A profile's recorded machine (``lock.targets.Machine``) runs on ``target``'s platform:
    the same OS and CPU architecture (``sys_platform``, ``platform_machine``; else its most
    preferred platform tag's architecture)."""

    def arch(value: str) -> str:
        low = value.lower()
        return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(low, low)

    def tag_arch(tags: Sequence[str]) -> str:
        first = next((t for t in tags if t != "any"), "")
        return arch(first.split("_", 3)[-1] if first.startswith("manylinux_") else first)

    mine, theirs = target.marker_env, machine.markers
    if theirs.get("platform_machine") and mine.get("platform_machine"):
        return arch(mine["platform_machine"]) == arch(theirs["platform_machine"]) and (
            mine.get("sys_platform") == theirs.get("sys_platform", mine.get("sys_platform"))
        )
    return tag_arch(target.platforms) == tag_arch(machine.platform_tags)
