"""``varwheel publish``: a release onto an index server, checked first, variant metadata kept.

1. :func:`plan_publish` validates the files as ``varwheel index build`` does (names, METADATA,
   one file name one content, each version's variant metadata merged) and runs the release check
   (:func:`varwheel.build.check.check_release`); any error refuses the whole release before a
   byte is sent. Warnings travel with the plan.
2. :func:`publish` uploads through the legacy upload API (:mod:`varwheel.index.upload`) in a safe
   order: sdists and non-variant wheels first, then null variants, then the other variants, so
   that a tool without variant support (pip, uv) finds its wheel as soon as the version appears.
3. The servers measured (pypiserver 2.4.2, devpi-server 6.20.3) refuse ``*-variants.json``
   uploads, so it is never sent to them. Variant metadata then reaches installers by one of two
   routes: each wheel's own ``variant.json`` (varwheel reads it with range requests; ``varwheel
   explain`` shows "per-wheel variant.json"), or, with ``variants_index``, a static side index
   whose project pages list the server's files by URL plus the merged ``*-variants.json``
   (``explain`` shows "index variants.json"), written after every upload succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from varwheel.errors import IndexFetchError, InvalidInput
from varwheel.index.credentials import Credentials, Repository
from varwheel.index.dists import WHEEL, file_kind, project_and_version
from varwheel.index.hashes import file_digest
from varwheel.index.http import split_credentials
from varwheel.index.static import IndexUpdate, RemoteFile, update_side_index, validate_release
from varwheel.index.upload import DEFAULT_TIMEOUT, UploadResult, upload_file, upload_pool
from varwheel.spec.filenames import parse_wheel_filename

__all__ = [
    "PublishPlan",
    "PublishReport",
    "ReleaseRefused",
    "plan_publish",
    "publish",
    "server_simple_candidates",
]


class ReleaseRefused(InvalidInput):
    """The release check found errors; nothing was uploaded (exit 2)."""


@dataclass(frozen=True)
class PublishPlan:
    files: tuple[Path, ...]  # in upload order
    variants: dict[tuple[str, str], bytes]  # (project, version) -> merged *-variants.json
    warnings: tuple[str, ...]  # the release check's warnings, one line each
    skipped: tuple[Path, ...]  # non-distribution files of the input directories


@dataclass(frozen=True)
class PublishReport:
    results: tuple[UploadResult, ...]
    side_index: IndexUpdate | None
    server_index: str | None  # the server's simple URL the side index links to


def _order(path: Path) -> tuple[int, str]:
    if file_kind(path.name) != WHEEL:
        return (0, path.name)
    label = parse_wheel_filename(path.name).label
    return (1 if label is None else 2 if label == "null" else 3, path.name)


def _check(
    files: Sequence[Path], variants: dict[tuple[str, str], bytes]
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the release check, one line each. The check sees the merged
    ``*-variants.json`` this publish stands for (instead of any given one), so its index rules
    (every label listed, providers agree) apply to what installers will read."""
    import tempfile

    from varwheel.build.check import Severity, check_release
    from varwheel.spec.filenames import variants_json_filename

    # sdists are not the check's business (it reads wheels and *-variants.json)
    wheels = [p for p in files if file_kind(p.name) == WHEEL]
    if not wheels:
        return [], []
    errors, warnings = [], []
    with tempfile.TemporaryDirectory(prefix="varwheel-publish-") as tmp:
        merged = []
        for (project, version), data in variants.items():
            target = Path(tmp) / variants_json_filename(project, version)
            target.write_bytes(data)
            merged.append(target)
        findings = check_release([*wheels, *merged])
    for finding in findings:
        subjects = f" [{', '.join(finding.subjects)}]" if finding.subjects else ""
        line = f"{finding.code}: {finding.message}{subjects}"
        (errors if finding.severity is Severity.ERROR else warnings).append(line)
    return errors, warnings


def plan_publish(paths: Iterable[Path], *, check: bool = True) -> PublishPlan:
    """Validate and order a release; raise :class:`InvalidInput` / :class:`ReleaseRefused`."""
    given = [Path(p) for p in paths]
    from varwheel.build.check import validate_wheel

    release = validate_release(given, validate_wheel=validate_wheel)
    errors: list[str] = []
    warnings: list[str] = []
    if check:
        from varwheel.index.static import collect_distributions

        found, _ = collect_distributions(given)
        errors, warnings = _check(found, release.variants)
    if errors:
        more = (
            f" (and {len(errors) - 1} more; `varwheel check` lists them)" if len(errors) > 1 else ""
        )
        raise ReleaseRefused(f"refusing to publish: {errors[0]}{more}")
    if not release.files:
        raise InvalidInput("nothing to upload: no wheel or sdist among the inputs")
    files = tuple(sorted(release.files, key=_order))
    return PublishPlan(files, release.variants, tuple(warnings), release.skipped)


def server_simple_candidates(upload_url: str) -> list[str]:
    """Where a server's simple index usually is, from its upload URL: devpi
    (``/user/index/`` -> ``/user/index/+simple/``), pypiserver (``/`` -> ``/simple/``)."""
    from urllib.parse import urljoin

    base = upload_url if upload_url.endswith("/") else upload_url + "/"
    out = [base + "+simple/", base + "simple/", urljoin(base, "/simple/")]
    return list(dict.fromkeys(out))


def _remote_files(
    server_index: str | None, repository: Repository, project: str, uploaded: dict[str, Path]
) -> tuple[str, list[RemoteFile]]:
    from varwheel.index.client import IndexClient

    given_auth = None
    if server_index:
        # user:password@ in --server-index-url authenticates; it never reaches a message, the
        # report or the side index's pages
        server_index, given_auth = split_credentials(server_index)
    candidates = [server_index] if server_index else server_simple_candidates(repository.url)
    credentials = repository.credentials
    if given_auth is not None:
        credentials = Credentials(given_auth[0], given_auth[1], "--server-index-url")
    for url in candidates:
        index_url = url
        if credentials.username is not None and credentials.password is not None:
            from urllib.parse import quote, urlsplit, urlunsplit

            parts = urlsplit(url)
            auth = f"{quote(credentials.username, safe='')}:{quote(credentials.password, safe='')}"
            index_url = urlunsplit(parts._replace(netloc=f"{auth}@{parts.netloc}"))
        try:
            with IndexClient([index_url], retries=2) as client:
                files = client.project_files(project)
        except (IndexFetchError, InvalidInput):
            continue
        names = {f.filename for f in files}
        if not set(uploaded) <= names:
            continue
        for f in files:
            # a server that kept other bytes under the name (--skip-existing on a 409) must not
            # be paired with variant metadata describing ours
            if (
                f.filename in uploaded
                and f.sha256
                and f.sha256 != file_digest(uploaded[f.filename], "sha256")
            ):
                raise IndexFetchError(
                    f"{url} lists {f.filename} with sha256 {f.sha256[:12]}…, not the "
                    f"{file_digest(uploaded[f.filename], 'sha256')[:12]}… of the file published; "
                    "side index not written"
                )
        remote = [
            RemoteFile(
                f.filename,
                f.url,
                f.sha256,
                uploaded[f.filename].stat().st_size if f.filename in uploaded else f.size,
                f.requires_python,
            )
            for f in files
        ]
        return url, remote
    raise IndexFetchError(
        f"cannot find {project}'s uploaded files on the server's simple index (tried "
        f"{', '.join(candidates)}); give --server-index-url"
    )


def publish(
    plan: PublishPlan,
    repository: Repository,
    *,
    skip_existing: bool = False,
    variants_index: Path | None = None,
    server_index: str | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = DEFAULT_TIMEOUT,
    on_start: Callable[[Path], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_done: Callable[[UploadResult], None] | None = None,
) -> PublishReport:
    """Upload ``plan.files`` in order, then write the side index when asked. A refusal raises
    (:class:`~varwheel.index.upload.UploadRefused`, exit 4) after the files before it went up;
    the side index is written only when every upload succeeded."""
    pool = upload_pool(repository.url)
    results = []
    for path in plan.files:
        if on_start is not None:
            on_start(path)
        result = upload_file(
            repository,
            path,
            skip_existing=skip_existing,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            progress=on_progress,
            pool=pool,
        )
        results.append(result)
        if on_done is not None:
            on_done(result)
    side: IndexUpdate | None = None
    used: str | None = None
    if variants_index is not None and plan.variants:
        by_project: dict[str, dict[str, bytes]] = {}
        for (project, version), data in plan.variants.items():
            by_project.setdefault(project, {})[version] = data
        for project, variants in sorted(by_project.items()):
            uploaded = {
                p.name: p
                for p in plan.files
                if (found := project_and_version(p.name)) and found[0] == project
            }
            used, remote = _remote_files(server_index, repository, project, uploaded)
            side = update_side_index(variants_index, project, remote, variants)
    return PublishReport(tuple(results), side, used)
