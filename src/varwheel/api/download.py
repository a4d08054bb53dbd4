"""``download``: the files a target would install, into a directory, without installing.

The target is this machine, or another one described by a profile and the cross-target
options (``Settings.cross``/``profile``): ``plan_install`` chooses exactly as ``install``
would (no installed distribution is kept: the directory is the whole answer). Every file is
checked against the hash its index or find-links location gives (and the ``--hash`` values of
``-r`` files, ``--require-hashes``), a wheel also against the variant metadata the choice was
made on, and then moved into the directory under its own name: each file is either the old one
or the whole new one (a rename on the same file system), never half-written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel.errors import InstallError, InvalidInput
from varwheel.reporter import Reporter

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from varwheel.api import Requirements
    from varwheel.resolve.resolver import ResolvedPackage
    from varwheel.resolve.source import DistributionSource
    from varwheel.settings import Settings
    from varwheel.target import Target

__all__ = ["DownloadResult", "DownloadedFile", "download"]


@dataclass(frozen=True)
class DownloadedFile:
    """One file in the directory: the package it is for, its variant label (None: a
    non-variant wheel or an sdist), its sha256 and whether an identical file was already there."""

    name: str
    version: str
    filename: str
    path: Path
    sha256: str
    variant_label: str | None
    is_sdist: bool
    already_there: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "path": str(self.path),
            "sha256": self.sha256,
            "variant_label": self.variant_label,
            "sdist": self.is_sdist,
            "already_there": self.already_there,
        }


@dataclass(frozen=True)
class DownloadResult:
    """What ``download`` put into ``directory``, one entry per resolved package."""

    directory: Path
    files: tuple[DownloadedFile, ...]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _prepare_directory(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidInput(f"-d {directory}: cannot create: {err.strerror or err}") from None
    if not directory.is_dir():
        raise InvalidInput(f"-d {directory}: not a directory")
    return directory


def download(
    requirements: Requirements | Iterable[str | Requirement],
    settings: Settings,
    target: Target,
    directory: str | os.PathLike[str],
    *,
    source: DistributionSource | None = None,
    reporter: Reporter | None = None,
) -> DownloadResult:
    """Resolve ``requirements`` for ``target`` as ``install`` would and put the chosen file of
    every package into ``directory`` (created if missing): the wheel, or for a project that has
    none for the target the sdist it would be built from (as pip's download). Raises
    ``ResolutionError``, ``IndexFetchError``/``HashMismatch``, ``InstallError`` (a ``--hash``
    mismatch); the directory then holds none of the new files."""
    from varwheel.api import plan_install
    from varwheel.install.verify import verify_download
    from varwheel.resolve.hashes import check_hashes, check_hashes_given

    reporter = reporter if reporter is not None else Reporter()
    dest = _prepare_directory(Path(directory))
    with plan_install(
        requirements, settings, target, environment=None, source=source, reporter=reporter
    ) as plan:
        todo = list(plan.packages)
        hashes = settings.required_hashes()
        # the staging directory is inside ``dest``: the final moves are renames
        with tempfile.TemporaryDirectory(
            prefix=".varwheel-download-", dir=dest, ignore_cleanup_errors=True
        ) as tmp:
            if hashes or settings.require_hashes:
                check_hashes_given(todo, hashes)
            paths = _fetch(plan, todo, Path(tmp), reporter)
            if hashes or settings.require_hashes:
                check_hashes(todo, paths, hashes)
            for pkg, path in zip(todo, paths, strict=True):
                if pkg.candidate.is_sdist:
                    continue
                md = pkg.choice.metadata if pkg.choice is not None else None
                for line in verify_download(path, pkg.candidate, md, pkg.metadata):
                    reporter.warning(line)
            files = tuple(_place(pkg, path, dest) for pkg, path in zip(todo, paths, strict=True))
    return DownloadResult(dest, files)


def _fetch(plan: Any, todo: list[ResolvedPackage], staging: Path, reporter: Reporter) -> list[Path]:
    """Every chosen file, sdists as they are (pip's download keeps the sdist, not a wheel
    built from it), hash-checked by the source against what the index lists."""
    files = []
    for pkg in todo:
        if pkg.candidate.file is None:
            raise InstallError(f"{pkg.name} {pkg.candidate.version}: no file to download")
        files.append(pkg.candidate.file)
    with reporter.downloads(len(files)) as progress:
        return list(plan.source.download_many(files, staging, progress))


def _place(pkg: ResolvedPackage, path: Path, dest: Path) -> DownloadedFile:
    final = dest / path.name
    digest = _sha256(path)
    same = final.is_file() and not final.is_symlink() and _sha256(final) == digest
    if not same:
        try:
            os.replace(path, final)
        except OSError as err:
            raise InstallError(f"{final}: cannot write: {err.strerror or err}") from None
    cand = pkg.candidate
    return DownloadedFile(
        name=pkg.name,
        version=str(cand.version),
        filename=path.name,
        path=final,
        sha256=digest,
        variant_label=cand.label,
        is_sdist=cand.is_sdist,
        already_there=same,
    )
