"""Lock targets: the machines one lock must install correctly on.

A target is tags + marker environment (the Python side) + where its variant support comes from
(a profile, or this machine's providers). A profile written by ``varwheel detect --output``
describes a whole machine: besides ``[properties]`` its ``[profile]`` header holds
``python-version``, ``implementation``, ``abis``, ``platform-tags`` and ``[profile.markers]``
(readers that predate these keys ignore them; a profile without them describes only the
hardware, and takes the Python side from the local target and the cross-target flags).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.tags import Tag

from varwheel.errors import InvalidProfile
from varwheel.fsutil import FileTooLarge, NotARegularFile, read_regular
from varwheel.safeparse import TomlError, toml_loads
from varwheel.spec.validation import printable

# The marker names a target's environment marker is made of (PEP 751 ``environments``):
# those that tell machines apart; versions of the OS kernel etc. are left out on purpose.
TARGET_MARKER_KEYS = ("sys_platform", "platform_machine", "implementation_name", "python_version")


@dataclass(frozen=True)
class Machine:
    """The Python side of a machine as a profile records it."""

    python_version: str
    implementation: str
    abis: tuple[str, ...]
    platform_tags: tuple[str, ...]
    markers: Mapping[str, str] = field(default_factory=dict)

    def tags(self) -> tuple[Tag, ...]:
        from varwheel.install.environment import tags_from_facts

        major, minor = (int(p) for p in self.python_version.split(".")[:2])
        facts: dict[str, Any] = {
            "version_info": [major, minor, 0],
            "implementation": self.implementation,
            "py_version_nodot": f"{major}{minor}",
        }
        return tags_from_facts(facts, platforms=self.platform_tags, abis=self.abis or None)


@dataclass(frozen=True)
class LockTarget:
    name: str
    tags: tuple[Tag, ...]
    marker_env: Mapping[str, str]
    profile: Path | None = None
    profile_sha256: str | None = None

    @property
    def platform_tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.platform for t in self.tags if t.platform != "any"))

    @property
    def marker(self) -> str:
        return target_marker(self.marker_env)


def target_marker(marker_env: Mapping[str, str]) -> str:
    """A PEP 508 marker true on this target's kind of machine (PEP 751 ``environments``)."""
    return " and ".join(
        f"{key} == '{marker_env[key]}'" for key in TARGET_MARKER_KEYS if key in marker_env
    )


def machine_of(env: Any) -> dict[str, Any]:
    """The ``[profile]`` keys that describe ``env`` (a ``TargetEnvironment``)."""
    interp = f"cp{env.python_version.replace('.', '')}"
    abis = [
        t.abi
        for t in env.tags
        if t.abi not in ("abi3", "none") and t.interpreter.startswith(interp[:2])
    ]
    return {
        "python-version": env.python_version,
        "implementation": env.implementation,
        "abis": list(dict.fromkeys(abis)),
        "platform-tags": list(dict.fromkeys(t.platform for t in env.tags if t.platform != "any")),
        "markers": dict(sorted(env.marker_env.items())),
    }


def read_machine(path: Path) -> tuple[Machine | None, str]:
    """The machine a profile describes (None for a hardware-only profile) and the file's sha256."""
    shown = printable(str(path))
    data = _read_small_file(path, shown)
    digest = hashlib.sha256(data).hexdigest()
    try:
        header = toml_loads(data).get("profile", {})
    except TomlError as exc:
        raise InvalidProfile(f"{shown}: invalid TOML: {printable(str(exc))}") from None
    if not isinstance(header, dict) or "python-version" not in header:
        return None, digest
    version = header.get("python-version")
    impl = header.get("implementation", "cpython")
    abis = header.get("abis", [])
    plats = header.get("platform-tags", [])
    markers = header.get("markers", {})
    ok = (
        isinstance(version, str)
        and isinstance(impl, str)
        and _strings(abis)
        and _strings(plats)
        and bool(plats)
        and isinstance(markers, dict)
        and all(isinstance(v, str) for v in markers.values())
    )
    if not ok or not _version_ok(str(version)):
        raise InvalidProfile(
            f"{shown}: [profile] machine keys: python-version 'X.Y', implementation, abis and "
            "platform-tags (arrays of strings, platform-tags not empty) and a markers table of strings"
        )
    return Machine(str(version), str(impl), tuple(abis), tuple(plats), dict(markers)), digest


# A profile is a few KiB; a lock names its profiles, and a lock from a cloned repository is
# untrusted: ``lock --check`` must not read /dev/zero, a FIFO or a huge file named there.
MAX_PROFILE_BYTES = 1 << 20


def _read_small_file(path: Path, shown: str) -> bytes:
    try:
        return read_regular(path, limit=MAX_PROFILE_BYTES)
    except NotARegularFile:
        raise InvalidProfile(f"{shown}: a profile must be a regular file") from None
    except FileTooLarge:
        raise InvalidProfile(f"{shown}: a profile is at most {MAX_PROFILE_BYTES} bytes") from None
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidProfile(f"{shown}: cannot read profile: {printable(why)}") from None


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _version_ok(text: str) -> bool:
    parts = text.split(".")
    return len(parts) >= 2 and all(p.isdigit() for p in parts[:2])


def targets_from_profiles(
    profiles: Sequence[Path], pythons: Sequence[Any]
) -> tuple[LockTarget, ...]:
    """One target per profile and Python: ``pythons`` (``TargetEnvironment``s: the local target,
    or one per ``--python-version`` of a set) give the Python side of hardware-only profiles; a
    whole-machine profile is one target. Without profiles: one target per Python, with live
    providers."""
    several = len(pythons) > 1

    def suffix(env: Any) -> str:
        return f"-py{env.python_version}" if several else ""

    if not profiles:
        return tuple(
            LockTarget(f"this-machine{suffix(env)}", tuple(env.tags), dict(env.marker_env))
            for env in pythons
        )
    out: list[LockTarget] = []
    names: set[str] = set()

    def add(
        name: str, tags: tuple[Tag, ...], markers: dict[str, str], path: Path, digest: str
    ) -> None:
        while name in names:
            name += "_"
        names.add(name)
        out.append(LockTarget(name, tags, markers, path, digest))

    for path in profiles:
        machine, digest = read_machine(path)
        if machine is None:
            for env in pythons:
                add(path.stem + suffix(env), tuple(env.tags), dict(env.marker_env), path, digest)
        else:
            markers = {**dict(pythons[0].marker_env), **dict(machine.markers)}
            markers.setdefault("python_version", machine.python_version)
            add(path.stem, machine.tags(), markers, path, digest)
    return tuple(out)


def shown_profile_path(path: Path, base: Path) -> str:
    """A local path (a profile, a ``--find-links`` directory) as the lock records it: relative
    to the lock's directory (PEP 751 does the same for ``path``), so that the bytes do not
    depend on the working directory and re-locking from anywhere finds it; absolute only when
    no relative path exists (another drive)."""
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:
        return str(path.resolve())


def recorded_path(text: str, base: Path) -> Path:
    """The inverse of :func:`shown_profile_path`."""
    return base / text
