"""Local project directories as requirements: ``install PATH`` and ``install -e PATH``.

Each directory is built into a wheel first (``build.local``: PEP 517, or PEP 660 for an
editable), and that wheel is then the project's only candidate, as a wheel named by path is.
The installed distribution records where it came from (PEP 610 ``direct_url.json``: the
directory's ``file://`` URL, ``dir_info.editable`` for ``-e``), so ``freeze`` prints
``-e file:///…`` and ``show`` the directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from varwheel.reporter import Reporter

__all__ = ["is_local_project", "local_requirements"]


def is_local_project(text: str) -> bool:
    """A requirement text that names a directory (``.``, ``./proj``, ``/abs/proj``), as pip
    reads it: a path separator or a leading dot, and the directory exists."""
    looks_like_path = os.sep in text or text.startswith(".") or (os.altsep or "\0") in text
    return looks_like_path and not text.endswith(".whl") and Path(text).is_dir()


@contextlib.contextmanager
def local_requirements(
    texts: Iterable[str],
    *,
    editables: Iterable[str] = (),
    files: Iterable[str | os.PathLike[str]] = (),
    constraint_files: Iterable[str | os.PathLike[str]] = (),
    isolation: bool = True,
    reporter: Reporter | None = None,
) -> Iterator[Any]:
    """``read_requirements`` with every project directory among ``texts`` (and each of
    ``editables``) built into a wheel under a temporary directory that lives as long as the
    context: yields the ``Requirements``, whose ``origins`` give each built project's PEP 610
    document. Raises ``InvalidInput`` (not a project), ``BuildFailed`` (its backend)."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    from varwheel.api import read_requirements
    from varwheel.build.local import build_local_wheel

    reporter = reporter if reporter is not None else Reporter()
    items = list(texts)
    directories = [t for t in items if is_local_project(t)]
    rest = [t for t in items if t not in directories]
    wanted = [(Path(d), False) for d in directories] + [(Path(e), True) for e in editables]
    with tempfile.TemporaryDirectory(prefix="varwheel-local-") as tmp:
        wheels: list[str] = []
        origins: dict[str, dict[str, Any]] = {}
        for index, (path, editable) in enumerate(wanted):
            out = Path(tmp) / str(index)
            reporter.note(f"building {'an editable wheel' if editable else 'a wheel'} of {path}")
            wheel = build_local_wheel(path, out, editable=editable, isolation=isolation)
            name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
            wheels.append(str(wheel))
            info = {"editable": True} if editable else {}
            origins[name] = {"url": path.resolve().as_uri(), "dir_info": info}
        reqs = read_requirements([*rest, *wheels], files=files, constraint_files=constraint_files)
        yield replace(reqs, origins=origins)
