"""``pylock.toml`` text -> ``LockFile``, validated before anything is downloaded.

packaging's ``Pylock.from_dict`` validates the PEP 751 structure but parses wheel names with
the five/six-part rule, so a variant wheel fails ("Invalid build number"). Each variant wheel is
therefore checked with our filename rules (PEP 825 §"Variant wheel") and shown to packaging
under its label-less name; everything else packaging checks as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from packaging.markers import InvalidMarker, Marker
from packaging.pylock import Pylock, PylockValidationError, is_valid_pylock_path
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import InvalidFilename, InvalidMetadata
from varwheel.lock.model import (
    FORMAT,
    InvalidLock,
    LockedPackage,
    LockedWheel,
    LockFile,
    LockTargetInfo,
    is_file_url,
)
from varwheel.safeparse import TomlError, toml_loads, too_long_number_reason
from varwheel.spec.filenames import parse_wheel_filename
from varwheel.spec.metadata import load_variants_json
from varwheel.spec.validation import printable

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SCHEMES = ("http", "https", "file")


def is_lock_path(path: str | Path) -> bool:
    """PEP 751 §"File Name": ``pylock.toml`` or ``pylock.<name>.toml``."""
    return is_valid_pylock_path(Path(path))


def read_lock(path: str | Path) -> LockFile:
    path = Path(path)
    shown = printable(str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidLock(f"{shown}: cannot read the lock: {exc.strerror or exc}") from None
    return parse_lock(data, source=shown)


def parse_lock(data: bytes | str, *, source: str = "pylock.toml") -> LockFile:
    try:
        doc = toml_loads(data)
    except TomlError as exc:
        raise InvalidLock(f"{source}: invalid TOML: {printable(str(exc))}") from None
    # every version, specifier and marker in the file is compared as integers by packaging:
    # refuse an over-long digit run here, naming the file, not later with a bare ValueError
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # toml_loads checked it
    reason = too_long_number_reason(text)
    if reason is not None:
        raise InvalidLock(f"{source}: holds {reason}")
    shown, warnings = _newer_minor(doc, source)
    try:
        pylock = Pylock.from_dict(_label_less(shown, source))
    except PylockValidationError as exc:
        where = f"{exc.context}: " if exc.context else ""
        raise InvalidLock(
            f"{source}: not a valid PEP 751 lock: {where}{first_line(exc.message)}"
        ) from None
    packages = tuple(
        _package(raw, pkg, f"{source}: packages[{i}]")
        for i, (raw, pkg) in enumerate(zip(doc["packages"], pylock.packages, strict=True))
    )
    seen: set[str] = set()  # linear: a hostile lock may list 100,000 packages
    dup = next((p.name for p in packages if p.name in seen or seen.add(p.name)), None)
    if dup is not None:
        # PEP 751 allows it with disjoint markers; our locks hold one version per package
        raise InvalidLock(f"{source}: package {dup!r} is listed more than once")
    tool = _table(doc.get("tool", {}), f"{source}: tool").get("varwheel", {})
    tool = _table(tool, f"{source}: tool.varwheel")
    fmt = tool.get("format", FORMAT)
    if fmt != FORMAT and tool:
        raise InvalidLock(
            f"{source}: tool.varwheel.format {fmt!r} is not supported (expected {FORMAT})"
        )
    requirements = tuple(
        _strings(tool.get("requirements", []), f"{source}: tool.varwheel.requirements")
    )
    targets = tuple(
        _target(t, f"{source}: tool.varwheel.targets[{i}]")
        for i, t in enumerate(_list(tool.get("targets", []), f"{source}: tool.varwheel.targets"))
    )
    inputs = _table(tool.get("inputs", {}), f"{source}: tool.varwheel.inputs")
    return LockFile(
        packages=packages,
        requirements=requirements,
        targets=targets,
        environments=tuple(str(m) for m in pylock.environments or ()),
        requires_python=str(pylock.requires_python) if pylock.requires_python else None,
        created_by=pylock.created_by,
        inputs=inputs,
        source=source,
        warnings=warnings,
        walk=bool(tool),
    )


def _newer_minor(doc: dict[str, Any], source: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """PEP 751: a newer minor ``lock-version`` is read with a warning, a newer major refused.
    packaging logs that warning itself (a bare line on stderr): it is shown ``1.0`` instead and
    our warning names the file."""
    text = doc.get("lock-version")
    if not isinstance(text, str):
        return doc, ()
    try:
        version = Version(text)
    except InvalidVersion:
        return doc, ()  # packaging refuses it, naming the key
    if not Version("1.0") < version < Version("2.dev0"):
        return doc, ()
    warning = (
        f"{source}: lock-version {printable(text)} is newer than 1.0, the version varwheel "
        "reads: keys it added are ignored"
    )
    return {**doc, "lock-version": "1.0"}, (warning,)


def _label_less(doc: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A copy of ``doc`` whose variant wheels carry their label-less name, for packaging."""
    out = dict(doc)
    packages = doc.get("packages")
    if not isinstance(packages, list):
        return out
    copied = []
    for i, pkg in enumerate(packages):
        if isinstance(pkg, dict) and isinstance(pkg.get("wheels"), list):
            pkg = dict(pkg)
            wheels = []
            for j, wheel in enumerate(pkg["wheels"]):
                if isinstance(wheel, dict):
                    wheel = _plain_name(wheel, f"{source}: packages[{i}].wheels[{j}]")
                wheels.append(wheel)
            pkg["wheels"] = wheels
        copied.append(pkg)
    out["packages"] = copied
    return out


def _wheel_name(wheel: Mapping[str, Any]) -> str | None:
    """The wheel's file name: ``name`` as written (a bare name, checked by the filename
    parser), else the last component of ``path`` or ``url`` (packaging's rule)."""
    for key in ("name", "path", "url"):
        value = wheel.get(key)
        if isinstance(value, str) and value:
            if key == "name":
                return value
            return _basename(value, url=key == "url")
    return None


def _basename(value: str, *, url: bool) -> str:
    if url:
        return unquote(urlparse(value).path).rsplit("/", 1)[-1]
    return value.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]


def _plain_name(wheel: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    name = _wheel_name(wheel)
    if name is None:
        return wheel
    try:
        wf = parse_wheel_filename(name)
    except InvalidFilename as exc:
        raise InvalidLock(f"{where}: {exc}") from None
    if wf.label is None:
        return wheel
    return {**wheel, "name": wf.with_label(None).filename}


def _package(raw: Mapping[str, Any], pkg: Any, where: str) -> LockedPackage:
    name = canonicalize_name(pkg.name)
    where = f"{where} ({name})"
    if pkg.version is None:
        raise InvalidLock(f"{where}: no version (varwheel installs pinned versions only)")
    if not pkg.wheels:
        raise InvalidLock(f"{where}: no wheels (varwheel installs wheels from a lock)")
    tool = _table(
        _table(raw.get("tool", {}), f"{where}.tool").get("varwheel", {}), f"{where}.tool.varwheel"
    )
    own_reqs = _table(
        tool.get("wheel-requires-dist", {}), f"{where}.tool.varwheel.wheel-requires-dist"
    )
    wheels = []
    for j, (wraw, wheel) in enumerate(zip(raw["wheels"], pkg.wheels, strict=True)):
        wheels.append(_wheel(wraw, wheel, name, pkg.version, own_reqs, f"{where}.wheels[{j}]"))
    variants = None
    vraw = raw.get("variants-json")
    labels = {w.label for w in wheels if w.label is not None}
    if vraw is not None:
        if not isinstance(vraw, dict):
            raise InvalidLock(f"{where}.variants-json must be a table")
        try:
            variants = load_variants_json(vraw, source=f"{where}.variants-json")
        except InvalidMetadata as exc:
            raise InvalidLock(str(exc)) from None  # names f"{where}.variants-json" already
        missing = sorted(labels - set(variants.variants) - {"null"})
        if missing:
            raise InvalidLock(
                f"{where}: wheel label {missing[0]!r} is not in [packages.variants-json] "
                "(PEP 825: every listed label is kept in full)"
            )
    elif labels:
        raise InvalidLock(
            f"{where}: variant wheels ({', '.join(sorted(labels))}) without [packages.variants-json]"
        )
    return LockedPackage(
        name=name,
        version=pkg.version,
        wheels=tuple(wheels),
        requires_dist=tuple(
            _strings(tool.get("requires-dist", []), f"{where}.tool.varwheel.requires-dist")
        ),
        variants=variants,
        variants_document=vraw,
        marker=pkg.marker,
        index=pkg.index,
        targets=tuple(_strings(tool.get("targets", []), f"{where}.tool.varwheel.targets")),
        requires_python=str(pkg.requires_python) if pkg.requires_python else None,
    )


def _wheel(
    raw: Mapping[str, Any],
    wheel: Any,
    name: str,
    version: Version,
    own_reqs: Mapping[str, Any],
    where: str,
) -> LockedWheel:
    filename = _wheel_name(raw)
    assert filename is not None  # packaging required a name, path or url
    wf = parse_wheel_filename(filename)
    if wf.project != name or wf.version != version:
        raise InvalidLock(f"{where}: {filename} is not {name} {version}")
    if wheel.url is not None and urlparse(wheel.url).scheme.lower() not in _SCHEMES:
        raise InvalidLock(
            f"{where}: {printable(wheel.url)}: only http, https and file URLs are fetched"
        )
    # A local file is read before its hash can be checked: it must be the wheel it is named
    # (a lock from a cloned repository must not make us read /etc/passwd or a device)
    from_url = wheel.path is None and is_file_url(wheel.url)
    local = wheel.url if from_url else wheel.path
    if local is not None and _basename(local, url=from_url) != filename:
        raise InvalidLock(
            f"{where}: {printable(local)} is not a file named {filename} "
            "(a local wheel's path must end with its name)"
        )
    sha = wheel.hashes.get("sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise InvalidLock(
            f"{where}: {filename}: a sha256 hash (64 lowercase hex digits) is required"
        )
    reqs = own_reqs.get(wf.filename)
    return LockedWheel(
        filename=wf,
        sha256=sha,
        size=wheel.size,
        url=wheel.url,
        path=wheel.path,
        requires_dist=tuple(_strings(reqs, f"{where}.requires-dist")) if reqs is not None else None,
    )


def _target(raw: object, where: str) -> LockTargetInfo:
    t = _table(raw, where)
    name = t.get("name")
    if not isinstance(name, str):
        raise InvalidLock(f"{where}.name must be a string")
    text = lambda key: t.get(key) if isinstance(t.get(key), str) else None  # noqa: E731
    return LockTargetInfo(
        name=name,
        marker_env={},
        profile=text("profile"),
        profile_sha256=text("profile-sha256"),
        environment=text("environment"),
    )


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidLock(f"{where} must be a table")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidLock(f"{where} must be an array")
    return value


def _strings(value: object, where: str) -> list[str]:
    items = _list(value, where)
    if not all(isinstance(v, str) for v in items):
        raise InvalidLock(f"{where} must be an array of strings")
    return items


def first_line(message: str) -> str:
    """packaging's parse errors draw the text and a caret on further lines: one line of it."""
    return printable(message.split("\n", 1)[0].strip())


def parse_marker(text: str, where: str) -> Marker:
    try:
        return Marker(text)
    except InvalidMarker as exc:
        raise InvalidLock(f"{where}: invalid marker: {first_line(str(exc))}") from None


def parse_version(text: str, where: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as exc:
        raise InvalidLock(f"{where}: {exc}") from None
