"""Recorded wheel hashes of trusted pins: the same pin never silently becomes other code.

A pin ``name==version`` names a release, not its bytes: an index the user switches to (or one
that is compromised) can serve another wheel under the same name and version. The first time a
pinned distribution is installed into a plugin environment, the sha256 of the wheel pip
installed is recorded in ``<cache>/plugin-locks/<name>-<version>.json``; every later
installation of that pin must install a wheel whose hash was recorded, or the plugin
environment is refused before anything in it has run. Deleting the record (or
``varwheel cache clear``) accepts a new wheel on the next install.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from varwheel.errors import ProviderError
from varwheel.providers.cache import PLUGIN_LOCKS

_FORMAT = 1


@dataclass(frozen=True)
class InstalledWheel:
    """One distribution pip installed into a plugin environment (from its ``--report``)."""

    name: str  # canonical
    version: str  # normalised
    filename: str
    sha256: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


def lock_path(cache_root: Path, name: str, version: str) -> Path:
    return cache_root / PLUGIN_LOCKS / f"{name}-{version}.json"


def check_and_record(wheels: Sequence[InstalledWheel], cache_root: Path) -> None:
    """Refuse a wheel whose pin was recorded with other hashes; record first installs.

    Everything is checked before anything is recorded, so a refused environment leaves no
    partial record behind.
    """
    missing: list[InstalledWheel] = []
    for wheel in wheels:
        path = lock_path(cache_root, wheel.name, wheel.version)
        recorded = _read(path, wheel)
        if recorded is None:
            missing.append(wheel)
        else:
            _compare(wheel, recorded, path)
    for wheel in missing:
        path = lock_path(cache_root, wheel.name, wheel.version)
        if not _create(path, wheel):  # another run recorded it first: compare with that
            recorded = _read(path, wheel)
            if recorded is not None:
                _compare(wheel, recorded, path)


def _compare(wheel: InstalledWheel, recorded: dict[str, str], path: Path) -> None:
    if wheel.sha256 in recorded.values():
        return
    first_file, first_hash = next(iter(recorded.items()))
    raise ProviderError(
        f"provider plugin {wheel.pin}: the wheel offered now ({wheel.filename}, sha256 "
        f"{wheel.sha256[:16]}...) is not the one installed when {wheel.pin} was first trusted "
        f"({first_file}, sha256 {first_hash[:16]}...); refusing other code behind the same pin "
        f"(if the new wheel is legitimate, delete {path})"
    )


def _read(path: Path, wheel: InstalledWheel) -> dict[str, str] | None:
    """``{filename: sha256}`` recorded for the pin, None when nothing is recorded yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProviderError(
            f"provider plugin {wheel.pin}: cannot read its recorded hashes {path}: "
            f"{exc.strerror or exc}"
        ) from None
    try:
        doc = json.loads(data.decode("utf-8"))
        wheels = doc["wheels"]
        ok = doc.get("format") == _FORMAT and isinstance(wheels, dict) and wheels
        if ok and all(isinstance(k, str) and isinstance(v, str) for k, v in wheels.items()):
            return dict(wheels)
    except (ValueError, KeyError, TypeError, RecursionError):
        pass
    raise ProviderError(
        f"provider plugin {wheel.pin}: its recorded hashes {path} are damaged; delete the file "
        "to record the wheel installed next"
    )


def _create(path: Path, wheel: InstalledWheel) -> bool:
    """Write the first record atomically and exclusively; False when one exists already."""
    doc = {"format": _FORMAT, "pin": wheel.pin, "wheels": {wheel.filename: wheel.sha256}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ProviderError(
            f"provider plugin {wheel.pin}: cannot record its wheel hash under {path.parent}: "
            f"{exc.strerror or exc}"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, sort_keys=True)
        try:
            os.link(tmp, path)  # fails when a record exists: never replace one
        except FileExistsError:
            return False
        except OSError as exc:
            raise ProviderError(
                f"provider plugin {wheel.pin}: cannot record its wheel hash in {path}: "
                f"{exc.strerror or exc}"
            ) from None
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
