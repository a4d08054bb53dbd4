"""Target profiles: a TOML file of supported properties that replaces every provider query.

PEP 817 §"Installing from an index" step 7(a) lets the user supply static compatibility data;
the format is ours (docs/configuration.md#profiles)::

    [profile]
    created-by = "varwheel 0.1.0"
    [properties.nvidia]                  # a listed namespace is known; an absent one is unsupported
    cuda_version_lower_bound = ["12.8", "12.7"]   # most preferred first
    sm_arch = ["90_real", "90_virtual"]

Unknown top-level keys are errors (a typo such as ``[propertes.x]`` would otherwise make every
variant silently incompatible); unknown keys inside ``[profile]`` are ignored, for newer writers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import tomli_w

from varwheel.errors import InvalidProfile
from varwheel.safeparse import TomlError, path_problem, toml_loads
from varwheel.spec.properties import FEATURE_RE, NAMESPACE_RE, VALUE_RE
from varwheel.spec.selection import SupportedProperties
from varwheel.spec.validation import printable

_TOP_LEVEL = frozenset({"profile", "properties"})


def load_profile(path: Path | str) -> SupportedProperties:
    """Read a profile; raises :class:`InvalidProfile` naming the file and the reason."""
    path = Path(path)
    shown = printable(str(path))
    problem = path_problem(str(path))
    if problem is not None:
        raise InvalidProfile(f"{shown}: cannot read profile: {problem}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidProfile(f"{shown}: cannot read profile: {exc.strerror or exc}") from None
    return parse_profile(data, source=shown)


def parse_profile(data: bytes | str, *, source: str = "<profile>") -> SupportedProperties:
    """Parse profile TOML text."""
    try:
        doc = toml_loads(data)
    except TomlError as exc:  # also huge integers, deep nesting, bad UTF-8
        raise InvalidProfile(f"{source}: invalid TOML: {printable(str(exc))}") from None
    unknown = sorted(set(doc) - _TOP_LEVEL)
    if unknown:
        raise InvalidProfile(
            f"{source}: unknown top-level key {unknown[0]!r} (expected [profile] and [properties])"
        )
    header = doc.get("profile", {})
    if not isinstance(header, dict):
        raise InvalidProfile(f"{source}: 'profile' must be a table")
    created_by = header.get("created-by")
    if created_by is not None and not isinstance(created_by, str):
        raise InvalidProfile(f"{source}: profile.created-by must be a string")
    props = doc.get("properties", {})
    if not isinstance(props, dict):
        raise InvalidProfile(f"{source}: 'properties' must be a table of namespaces")
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for ns, features in props.items():
        where = printable(f"properties.{ns}")
        if not NAMESPACE_RE.fullmatch(ns):
            raise InvalidProfile(f"{source}: {where}: invalid namespace {ns!r}")
        if not isinstance(features, dict):
            raise InvalidProfile(f"{source}: {where} must be a table of features")
        result[ns] = {}
        for feature, values in features.items():
            fwhere = printable(f"{where}.{feature}")
            if not FEATURE_RE.fullmatch(feature):
                raise InvalidProfile(f"{source}: {fwhere}: invalid feature name {feature!r}")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise InvalidProfile(f"{source}: {fwhere} must be a list of strings")
            for value in values:
                if not VALUE_RE.fullmatch(value):
                    raise InvalidProfile(f"{source}: {fwhere}: invalid value {value!r}")
            if len(set(values)) != len(values):
                raise InvalidProfile(f"{source}: {fwhere}: duplicate values")
            result[ns][feature] = tuple(values)
    return SupportedProperties(properties=result, unavailable={})


def dump_profile(
    sp: SupportedProperties | Mapping[str, Mapping[str, tuple[str, ...]]],
    *,
    created_by: str | None = None,
    machine: Mapping[str, object] | None = None,
) -> str:
    """Serialise supported properties as profile TOML.

    Deterministic: namespaces sorted; features keep their given order (the provider's feature
    order, which ranks variants); values keep their preference order. ``machine`` (the Python
    side: ``python-version``, ``implementation``, ``abis``, ``platform-tags``, ``markers``; see
    ``varwheel.lock.targets``) goes into ``[profile]``, whose unknown keys readers ignore.
    """
    if created_by is None:
        from varwheel import __version__

        created_by = f"varwheel {__version__}"
    props = sp.properties if isinstance(sp, SupportedProperties) else sp
    doc = {
        "profile": {"created-by": created_by, **dict(machine or {})},
        "properties": {
            ns: {feature: list(values) for feature, values in props[ns].items()}
            for ns in sorted(props)
        },
    }
    return tomli_w.dumps(doc)
