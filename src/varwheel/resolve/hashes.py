"""pip's hash-checking mode: ``--hash`` values from requirements files, checked before
anything is installed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from varwheel.errors import InstallError

if TYPE_CHECKING:
    from varwheel.index.models import IndexFile
    from varwheel.resolve.resolver import ResolvedPackage

HASH_ALGORITHMS = ("sha256", "sha384", "sha512")
_CHUNK = 1024 * 1024


def required_hashes(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """``(name, "algo:hex")`` pairs -> the allowed values per name."""
    out: dict[str, set[str]] = {}
    for name, value in pairs:
        out.setdefault(name, set()).add(value)
    return out


def check_hashes_given(todo: list[ResolvedPackage], hashes: dict[str, set[str]]) -> None:
    """Once a requirements file names a ``--hash``, every distribution to install needs one
    (dependencies too), so nothing unchecked slips in."""
    missing = [f"{p.name}=={p.candidate.version}" for p in todo if p.name not in hashes]
    if missing:
        raise InstallError(
            f"hash-checking mode (a requirements file uses --hash): no --hash given for "
            f"{', '.join(missing)}; add them (or --no-deps); nothing was installed"
        )


def check_hashes(
    todo: list[ResolvedPackage], paths: list[Path], hashes: dict[str, set[str]]
) -> None:
    """Each downloaded file (a wheel, or an sdist kept as it is) matches one of its ``--hash``
    values by its own bytes; a wheel built here from an sdist, by that sdist's."""
    for pkg, path in zip(todo, paths, strict=True):
        allowed = hashes[pkg.name]
        file = pkg.candidate.file
        if pkg.candidate.is_sdist and file is not None and path.name != file.filename:
            # a wheel built here: its sdist's own bytes were hashed before the build
            # (HashCheckingSource); the index's listing says which file that was
            got = {f"{a}:{d}" for a, d in file.hashes.items()}
            what = file.filename
        else:
            got = _file_hashes(path)
            what = path.name
        if not got & allowed:
            mine = sorted(h for h in got if h.startswith("sha256:")) or sorted(got)
            raise InstallError(
                f"{what}: hash {', '.join(mine) or 'unknown'} is not one of the --hash values "
                f"for {pkg.name}; nothing was installed"
            )


def _file_hashes(path: Path) -> set[str]:
    """``algo:hex`` of ``path`` for every allowed algorithm, in one streamed pass (a wheel can
    be gigabytes; it is never held whole)."""
    hashers = [hashlib.new(a) for a in HASH_ALGORITHMS]
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                for h in hashers:
                    h.update(chunk)
    except OSError as exc:
        raise InstallError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    return {f"{h.name}:{h.hexdigest()}" for h in hashers}


class HashCheckingSource:
    """A source whose sdists are checked against the ``--hash`` values before they are built.

    pip's hash-checking mode exists so that nothing unchecked runs: an sdist is built during
    resolution (its metadata), so its archive is hashed here, before its build backend is
    imported; everything else is the wrapped source's."""

    def __init__(self, inner: object, hashes: dict[str, set[str]]) -> None:
        self._inner = inner
        self._hashes = hashes

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def build_wheel(self, file: IndexFile, build_dir: Path, *, isolated: bool) -> Path:
        from varwheel.index.dists import project_and_version
        from varwheel.resolve.sdist import build_wheel_from_sdist

        found = project_and_version(file.filename)  # .tar.gz, .zip, .tar.bz2, .tgz
        name = found[0] if found else ""
        allowed = self._hashes.get(name)
        if not allowed:
            raise InstallError(
                f"hash-checking mode: no --hash given for {file.filename}; "
                "it is not built and nothing was installed"
            )
        archive = self._inner.download(file, build_dir / "sdists")  # type: ignore[attr-defined]
        got = _file_hashes(archive)
        if not got & allowed:
            mine = sorted(h for h in got if h.startswith("sha256:"))
            raise InstallError(
                f"{file.filename}: hash {', '.join(mine)} is not one of the --hash values "
                f"for {name}; it is not built and nothing was installed"
            )
        return build_wheel_from_sdist(archive, build_dir / "wheels", isolated=isolated)
