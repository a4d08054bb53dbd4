"""``--find-links`` locations: a local directory of distributions, or an HTML page of links."""

from __future__ import annotations

from pathlib import Path

from varwheel.errors import IndexFetchError
from varwheel.index.links import ParsedFiles, check_filename, make_file
from varwheel.index.models import IndexFile


def files_in_directory(directory: Path, source: str) -> ParsedFiles:
    """Every wheel, sdist and ``*-variants.json`` directly inside ``directory`` (not recursive).

    Local files carry no published hash: they are trusted as the user's own files.
    """
    files: list[IndexFile] = []
    warnings: list[str] = []
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise IndexFetchError(f"{source}: cannot list {directory}: {exc.strerror or exc}") from None
    for entry in entries:
        if not entry.is_file():
            continue
        url = entry.resolve().as_uri()
        problem = check_filename(entry.name, url, source)
        if problem is not None:
            if problem:
                warnings.append(problem)
            continue
        files.append(
            make_file(entry.name, url, hashes={}, source=source, size=entry.stat().st_size)
        )
    return ParsedFiles(tuple(files), tuple(warnings))
