"""What is installed in a target environment, read straight from its ``*.dist-info`` directories.

No ``importlib.metadata`` of our own process: the target is another interpreter, and a direct scan
of purelib/platlib is fast (one ``scandir`` per directory, a few small reads per distribution).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from varwheel.errors import InstallError

if TYPE_CHECKING:  # environment.py imports this module
    from varwheel.install.environment import TargetEnvironment

__all__ = [
    "FORCED_VARIANT_FILE",
    "InstalledDistribution",
    "forced_variant_document",
    "installed_distributions",
    "installed_from_env",
    "installed_versions",
    "read_record",
    "record_owners",
    "record_paths",
]


@dataclass(frozen=True)
class InstalledDistribution:
    """One installed distribution: what ``list``/``uninstall`` show (``version`` as written in
    its METADATA) and what resolution and pip's check need (``parsed_version``,
    ``requires_dist``, the variant's ``label`` and raw ``variant_json``). The latter are read
    from its ``*.dist-info`` on first use, so a scan reads only what each caller asks for.
    ``variant_label`` is None for a non-variant wheel (``"?"``: an unreadable ``variant.json``)."""

    name: NormalizedName
    display_name: str
    version: str
    dist_info: Path
    installer: str
    variant_label: str | None
    variant_properties: tuple[str, ...]
    requested: bool

    @property
    def label(self) -> str | None:
        """The variant label (``variant_label``), as a candidate names it."""
        return self.variant_label

    @functools.cached_property
    def parsed_version(self) -> Version | None:
        """``version`` as a PEP 440 version; None when it is not one (such a distribution is
        left out of resolution and pip's check: it cannot be compared)."""
        try:
            return Version(self.version)
        except ValueError:  # InvalidVersion, or past int()'s 4,300-digit limit
            return None

    @functools.cached_property
    def requires_dist(self) -> tuple[str, ...]:
        """The ``Requires-Dist`` values of its METADATA (none without one)."""
        from varwheel.spec.core_metadata import parse_core_metadata_bytes

        try:
            raw, _ = parse_core_metadata_bytes((self.dist_info / "METADATA").read_bytes())
        except OSError:
            return ()
        return tuple(raw.get("requires_dist", ()))

    @functools.cached_property
    def variant_json(self) -> bytes | None:
        """The raw ``variant.json`` of a variant install (its markers), else None."""
        if not self.variant_label:
            return None
        try:
            return (self.dist_info / "variant.json").read_bytes()
        except OSError:
            return None

    @functools.cached_property
    def forced_variant(self) -> str | None:
        """None, unless the variant was installed through ``--force-variant`` although the
        target did not support it: then why not (``""`` when not recorded), as recorded in
        ``*.dist-info/varwheel-variant.json`` (``forced_variant_document``)."""
        text = _read_text(self.dist_info / FORCED_VARIANT_FILE)
        if text is None:
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            return ""  # present but unreadable: still a forced install
        if not isinstance(doc, dict) or doc.get("forced") is not True:
            return None
        reason = doc.get("reason")
        return reason if isinstance(reason, str) else ""


# Written by ``install_wheels`` next to INSTALLER and REQUESTED, only for a forced variant
FORCED_VARIANT_FILE = "varwheel-variant.json"


def forced_variant_document(reason: str) -> bytes:
    """The ``FORCED_VARIANT_FILE`` of a variant installed through ``--force-variant``."""
    return json.dumps({"forced": True, "reason": reason}, sort_keys=True).encode()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _name_version(dist_info: Path) -> tuple[str, str] | None:
    """Name and Version headers from METADATA (only the header block is read)."""
    name = version = None
    if dist_info.name.endswith(".egg-info"):
        # setuptools: PKG-INFO inside a directory, or the .egg-info file is PKG-INFO itself
        meta = dist_info if dist_info.is_file() else dist_info / "PKG-INFO"
    else:
        meta = dist_info / "METADATA"
    try:
        with open(meta, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "name" and name is None:
                    name = value.strip()
                elif key == "version" and version is None:
                    version = value.strip()
                if name and version:
                    break
    except OSError:
        pass
    if name and version:
        return name, version
    # Fall back on the directory name: ``{name}-{version}.dist-info`` or
    # ``{name}-{version}[-pyX.Y[-platform]].egg-info`` (names and versions escaped, no ``-``)
    if dist_info.name.endswith(".egg-info"):
        parts = dist_info.name[: -len(".egg-info")].split("-")
        return (parts[0], parts[1]) if len(parts) >= 2 and parts[0] and parts[1] else None
    stem = dist_info.name[: -len(".dist-info")]
    left, sep, right = stem.rpartition("-")
    return (left, right) if sep else None


def _variant(dist_info: Path) -> tuple[str | None, tuple[str, ...]]:
    text = _read_text(dist_info / "variant.json")
    if text is None:
        return None, ()
    try:
        doc = json.loads(text)
        variants = doc["variants"]
        (label, tree) = next(iter(variants.items()))
        props = sorted(
            f"{ns} :: {feature} :: {value}"
            for ns, features in tree.items()
            for feature, values in features.items()
            for value in values
        )
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
        return "?", ()  # present but unreadable: still a variant install, shown as such
    return str(label), tuple(props)


def read_distribution(dist_info: Path) -> InstalledDistribution | None:
    """Describe one ``*.dist-info`` directory, or None when it has no usable name/version."""
    nv = _name_version(dist_info)
    if nv is None:
        return None
    name, version = nv
    label, props = _variant(dist_info)
    installer = (_read_text(dist_info / "INSTALLER") or "").strip()
    return InstalledDistribution(
        name=canonicalize_name(name),
        display_name=name,
        version=version,
        dist_info=dist_info,
        installer=installer,
        variant_label=label,
        variant_properties=props,
        requested=(dist_info / "REQUESTED").exists(),
    )


def installed_distributions(env: TargetEnvironment) -> dict[NormalizedName, InstalledDistribution]:
    """All distributions in ``env``'s purelib/platlib, by canonical name."""
    site_dirs: Iterable[Path] = env.site_dirs
    found: dict[NormalizedName, InstalledDistribution] = {}
    for site in site_dirs:
        try:
            # a .dist-info wins over a stale .egg-info of the same project
            entries = sorted(
                (e.name for e in os.scandir(site) if e.name.endswith((".dist-info", ".egg-info"))),
                key=lambda n: (n.endswith(".egg-info"), n),
            )
        except FileNotFoundError:
            continue
        for entry in entries:
            dist = read_distribution(Path(site) / entry)
            if dist is not None and dist.name not in found:
                found[dist.name] = dist
    return found


def read_record(dist: InstalledDistribution) -> list[str]:
    """Paths listed in a distribution's RECORD, relative to its site directory."""
    if dist.dist_info.name.endswith(".egg-info"):
        raise InstallError(
            f"{dist.display_name} {dist.version}: installed by setuptools ({dist.dist_info.name}, "
            "egg-info without a RECORD), so its files are unknown; remove it by hand"
        )
    record = dist.dist_info / "RECORD"
    text = _read_text(record)
    if text is None:
        raise InstallError(
            f"{dist.display_name} {dist.version}: no RECORD file in {dist.dist_info}, "
            "so its files are unknown; remove it by hand"
        )
    return [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0]]


def record_paths(dist: InstalledDistribution) -> list[str]:
    """Absolute, normalised paths of the files a distribution's RECORD lists (lexically
    resolved against its site directory; callers check they stay inside the environment)."""
    site = str(dist.dist_info.parent)
    return [os.path.normpath(os.path.join(site, rel)) for rel in read_record(dist)]


def record_owners(
    env: TargetEnvironment,
    *,
    exclude: Iterable[NormalizedName] = (),
    dists: Mapping[NormalizedName, InstalledDistribution] | None = None,
) -> dict[str, InstalledDistribution]:
    """Absolute path -> the installed distribution whose RECORD lists it, for every
    distribution not in ``exclude`` that has a RECORD (egg-info installs have none).
    ``dists``: the caller's scan of ``env`` (default: scan it now)."""
    skip = set(exclude)
    owners: dict[str, InstalledDistribution] = {}
    scanned = installed_distributions(env) if dists is None else dists
    for dist in scanned.values():
        if dist.name in skip or dist.dist_info.name.endswith(".egg-info"):
            continue
        try:
            paths = record_paths(dist)
        except InstallError:
            continue
        for path in paths:
            owners.setdefault(path, dist)
    return owners


def installed_from_env(
    env: TargetEnvironment,
    dists: Mapping[NormalizedName, InstalledDistribution] | None = None,
) -> dict[NormalizedName, InstalledDistribution]:
    """The distributions resolution and pip's check can compare: those of ``dists`` (default:
    one scan of ``env``) whose version is a valid PEP 440 version."""
    scanned = installed_distributions(env) if dists is None else dists  # one scan per caller
    return {name: d for name, d in scanned.items() if d.parsed_version is not None}


def installed_versions(env: TargetEnvironment) -> dict[str, str]:
    """Name -> version of every distribution installed in the target (``abi_dependency``)."""
    return {name: dist.version for name, dist in installed_distributions(env).items()}
