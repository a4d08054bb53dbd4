"""pip-style installation report (``--report``), with a ``variant`` object per item.

Format: pip's "installation report" version "1" (https://pip.pypa.io/en/stable/reference/
installation-report/). ``pip_version`` carries varwheel's version string, so consumers of
pip's format keep working; ``variant`` is our addition: ``{"label", "properties"}`` for a
variant wheel, ``null`` for a non-variant wheel (or one built from an sdist).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from varwheel import __version__
from varwheel.index.hashes import file_digest
from varwheel.resolve.candidates import Candidate
from varwheel.resolve.metadata import metadata_json
from varwheel.resolve.resolver import Resolution, ResolvedPackage

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

REPORT_VERSION = "1"

# Reads a package's core metadata when the resolution did not (``--no-deps``).
MetadataFunction = Callable[[Candidate], "RawMetadata | None"]


def variant_object(cand: Candidate) -> dict[str, Any] | None:
    if cand.label is None or cand.is_sdist:
        return None
    return {"label": cand.label, "properties": [str(p) for p in sorted(cand.properties)]}


def _sha256_of(url: str) -> str:
    from varwheel.index.http import file_url_path

    digest = hashlib.sha256()
    with open(file_url_path(url), "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_info(pkg: ResolvedPackage) -> dict[str, Any]:
    file = pkg.candidate.file
    assert file is not None
    hashes = dict(file.hashes)
    if not hashes and file.url.startswith("file:"):
        # a find-links directory publishes no digest; the file is at hand (pip hashes it too)
        hashes = {"sha256": _sha256_of(file.url)}
    archive: dict[str, Any] = {"hashes": hashes}
    if "sha256" in hashes:
        archive["hash"] = f"sha256={hashes['sha256']}"
    return {"url": file.url, "archive_info": archive}


def build_report(
    resolution: Resolution,
    *,
    marker_env: Mapping[str, str],
    metadata_of: MetadataFunction | None = None,
) -> dict[str, Any]:
    """The report for every distribution that would be installed (installed ones kept are
    not listed, as in pip)."""
    items = []
    for pkg in resolution.packages:
        cand = pkg.candidate
        if cand.installed:
            continue
        raw = pkg.metadata
        if raw is None and metadata_of is not None:
            raw = metadata_of(cand)
        meta = (
            metadata_json(raw)
            if raw is not None
            else {
                "metadata_version": "2.1",
                "name": cand.name,
                "version": str(cand.version),
            }
        )
        item: dict[str, Any] = {
            "download_info": _download_info(pkg),
            "is_direct": pkg.is_direct,
            "is_yanked": bool(cand.file is not None and cand.file.yanked),
            "requested": pkg.requested,
            "metadata": meta,
            "variant": variant_object(cand),
        }
        if pkg.requested_extras:
            item["requested_extras"] = sorted(pkg.requested_extras)
        items.append(item)
    return {
        "version": REPORT_VERSION,
        "pip_version": __version__,
        "install": items,
        "environment": dict(marker_env),
    }


def direct_url_documents(
    todo: Sequence[ResolvedPackage], paths: Sequence[Path]
) -> dict[str, dict[str, Any]]:
    """PEP 610 ``direct_url.json`` documents of the packages named by path or URL, keyed by
    project; a URL given without a hash gets the sha256 of the wheel that is installed."""
    out: dict[str, dict[str, Any]] = {}
    for pkg, path in zip(todo, paths, strict=True):
        file = pkg.candidate.file
        if not pkg.is_direct or file is None:
            continue
        archive_info: dict[str, Any] = {"hashes": dict(file.hashes)}
        if not file.hashes:
            digest = file_digest(path, "sha256")
            archive_info = {"hashes": {"sha256": digest}, "hash": f"sha256={digest}"}
        out[pkg.name] = {"url": file.url, "archive_info": archive_info}
    return out
