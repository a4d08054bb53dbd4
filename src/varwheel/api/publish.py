"""varwheel as a library, release side: static indexes, merged CI artifacts, uploads.

::

    from varwheel.api.publish import PublishOptions, find_repository, plan_publish, publish

    options = PublishOptions(skip_existing=True)
    plan = plan_publish(["dist/"])  # validated and checked: errors refuse the release
    repo = find_repository(repository_url="http://127.0.0.1:8080/")
    report = publish(plan, repo, options)
    print([r.filename for r in report.results])

``build_index`` and ``merge_indexes`` write a static simple index / one merged artifact
directory, all or nothing. ``plan_publish`` validates and orders a release (sdists and plain
wheels first); ``find_repository`` finds the upload URL and credentials (flags, then
``VARWHEEL_*`` and ``TWINE_*`` variables, the ``.pypirc`` section, credentials in the URL,
keyring); ``publish`` uploads. Files skipped as non-distributions are reported as notes, the
release check's and the repository's warnings as warnings, on the ``Reporter`` given.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from varwheel.errors import InvalidInput
from varwheel.reporter import Reporter

if TYPE_CHECKING:
    from varwheel.index.credentials import Repository
    from varwheel.index.static import IndexUpdate, MergeResult
    from varwheel.index.upload import UploadResult
    from varwheel.publish import PublishPlan, PublishReport

__all__ = [
    "PublishOptions",
    "build_index",
    "find_repository",
    "merge_indexes",
    "plan_publish",
    "publish",
    "with_typed_credentials",
]

Paths = Iterable["str | os.PathLike[str]"]


def _report_skipped(skipped: Iterable[Path], reporter: Reporter) -> None:
    for path in skipped:
        reporter.note(f"skipped {path} (not a wheel, sdist or *-variants.json)")


def build_index(
    paths: Paths, output: str | os.PathLike[str], *, reporter: Reporter | None = None
) -> IndexUpdate:
    """Add the wheels, sdists and ``*-variants.json`` files of ``paths`` (files or
    directories, not recursive) to the static index ``output`` (PEP 503 HTML, PEP 691 JSON,
    PEP 658 metadata, one merged ``*-variants.json`` per version), created when missing. Every
    wheel is validated first; an inconsistent set raises :class:`InvalidInput` naming the
    files and leaves ``output`` unchanged."""
    from varwheel.build.check import validate_wheel
    from varwheel.index.static import update_index

    reporter = reporter if reporter is not None else Reporter()
    result = update_index([Path(p) for p in paths], Path(output), validate_wheel=validate_wheel)
    _report_skipped(result.skipped, reporter)
    return result


def merge_indexes(
    paths: Paths, output: str | os.PathLike[str], *, reporter: Reporter | None = None
) -> MergeResult:
    """Combine the artifact directories of several build jobs into ``output``: every
    distribution file copied (one file name, one content), one merged ``*-variants.json`` per
    version with variant wheels. Independent of the order of ``paths``; all or nothing."""
    from varwheel.build.check import validate_wheel
    from varwheel.index.static import merge_artifacts

    reporter = reporter if reporter is not None else Reporter()
    result = merge_artifacts([Path(p) for p in paths], Path(output), validate_wheel=validate_wheel)
    _report_skipped(result.skipped, reporter)
    return result


@dataclass(frozen=True)
class PublishOptions:
    """How :func:`publish` uploads; checked when made (:class:`InvalidInput` for a timeout
    that is not a positive number of seconds). ``timeout`` None: the default (300 s, each
    retry waits again); ``retries`` on connection errors and 5xx; ``variants_index``: also
    write the merged ``*-variants.json`` with pages listing the server's files to this static
    side index; ``server_index_url``: the server's simple index for it (default: guessed)."""

    skip_existing: bool = False
    variants_index: Path | None = None
    server_index_url: str | None = None
    retries: int = 3
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.timeout is not None and not 0 < self.timeout < math.inf:
            raise InvalidInput(f"--timeout {self.timeout:g}: must be a positive number of seconds")
        object.__setattr__(self, "retries", max(0, self.retries))


def plan_publish(
    dists: Paths, *, check: bool = True, reporter: Reporter | None = None
) -> PublishPlan:
    """Validate a release (files or directories such as ``dist/``) as :func:`build_index`
    does, run the release check (``varwheel check``; its warnings are reported) and order the
    files for upload. Raises ``ReleaseRefused`` on a check error, :class:`InvalidInput` for a
    bad file or nothing to upload; nothing is sent either way."""
    from varwheel import publish as publishing

    reporter = reporter if reporter is not None else Reporter()
    plan = publishing.plan_publish([Path(p) for p in dists], check=check)
    _report_skipped(plan.skipped, reporter)
    for line in plan.warnings:
        reporter.warning(line)
    return plan


def find_repository(
    *,
    repository_url: str | None = None,
    repository: str | None = None,
    username: str | None = None,
    password: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
    reporter: Reporter | None = None,
) -> Repository:
    """The upload URL and credentials. The URL: ``repository_url``, else
    ``$VARWHEEL_REPOSITORY_URL``/``$TWINE_REPOSITORY_URL``, else the ``.pypirc`` section
    ``repository`` (``config_file`` instead of ``~/.pypirc``). Each credential: the argument,
    the ``VARWHEEL_``/``TWINE_`` variables, the section, ``user:password@`` in the URL, then
    keyring when installed. The repository's warnings are reported. Raises
    :class:`InvalidInput` when no repository is named or the section is unusable."""
    from varwheel.index.credentials import resolve_repository

    reporter = reporter if reporter is not None else Reporter()
    repo = resolve_repository(
        repository_url=repository_url,
        repository=repository,
        username=username,
        password=password,
        config_file=Path(config_file) if config_file is not None else None,
    )
    for line in repo.warnings:
        reporter.warning(line)
    return repo


def with_typed_credentials(
    repository: Repository, *, password: str, username: str | None = None
) -> Repository:
    """``repository`` with a password (and, when it had no username, ``username``) the user
    typed; the credentials' ``source`` says so."""
    creds = repository.credentials
    sources = [creds.source] if creds.source != "none" else []
    user = creds.username
    if user is None:
        user = username
        sources.append("username typed")
    sources.append("password typed")
    new = dataclasses.replace(creds, username=user, password=password, source=", ".join(sources))
    return dataclasses.replace(repository, credentials=new)


def publish(
    plan: PublishPlan,
    repository: Repository,
    options: PublishOptions | None = None,
    *,
    on_start: Callable[[Path], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_done: Callable[[UploadResult], None] | None = None,
) -> PublishReport:
    """Upload ``plan.files`` in order through the legacy upload API; ``*-variants.json`` is
    never sent (servers refuse it): with ``options.variants_index`` the side index is written
    after every upload succeeded. ``on_start(path)``, ``on_progress(sent, total)`` and
    ``on_done(result)`` follow each file. A refusal raises ``UploadRefused`` (the files before
    it went up)."""
    from varwheel import publish as publishing
    from varwheel.index.upload import DEFAULT_TIMEOUT

    options = options if options is not None else PublishOptions()
    return publishing.publish(
        plan,
        repository,
        skip_existing=options.skip_existing,
        variants_index=options.variants_index,
        server_index=options.server_index_url,
        retries=options.retries,
        timeout=options.timeout if options.timeout is not None else DEFAULT_TIMEOUT,
        on_start=on_start,
        on_progress=on_progress,
        on_done=on_done,
    )
