"""``varwheel publish DIST... --repository-url URL | -r NAME``: check a release, upload it.

Wheels (variant and plain) and sdists go through the legacy upload API (as twine); the release
is checked first and refused on errors (exit 2); a server's refusal is one line with its HTTP
status and reason (exit 4). ``*-variants.json`` is never sent to the server (the measured ones
refuse it); ``--variants-index DIR`` writes it, with pages listing the server's files, to a
static side index. See docs/publishing.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from varwheel.api import publish as publish_api
from varwheel.cli.producer import LineReporter
from varwheel.codes import UploadOutcome


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="check a release and upload it to an index server",
        description="Check the release (as `varwheel check`; errors refuse it), then upload its "
        "wheels and sdists through the standard upload API, sdists and plain wheels first. "
        "Credentials: --username/--password, VARWHEEL_USERNAME/VARWHEEL_PASSWORD, "
        "TWINE_USERNAME/TWINE_PASSWORD, the ~/.pypirc section of -r NAME, user:password@ in "
        "the URL, keyring when installed. Exit 2: the release is invalid (nothing uploaded); "
        "exit 4: the server refused a file or could not be reached.",
    )
    parser.add_argument(
        "dists", nargs="+", type=Path, metavar="DIST", help="files or directories (dist/)"
    )
    where = parser.add_argument_group("repository")
    where.add_argument(
        "--repository-url",
        metavar="URL",
        help="upload URL (pypiserver: http://host:port/, devpi: http://host/USER/INDEX/); "
        "default $VARWHEEL_REPOSITORY_URL or $TWINE_REPOSITORY_URL",
    )
    where.add_argument(
        "-r", "--repository", metavar="NAME", help="a section of ~/.pypirc (index-servers)"
    )
    where.add_argument("--config-file", type=Path, metavar="PATH", help="instead of ~/.pypirc")
    where.add_argument("-u", "--username")
    where.add_argument("-p", "--password", help="prefer an environment variable or keyring")
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="continue when the server already has a file (pypiserver/devpi 409, PyPI 400)",
    )
    parser.add_argument(
        "--variants-index",
        type=Path,
        metavar="DIR",
        help="also write the merged *-variants.json and pages listing the server's files to "
        "the static side index DIR (for servers that cannot host the JSON)",
    )
    parser.add_argument(
        "--server-index-url",
        metavar="URL",
        help="the server's simple index, for --variants-index (default: guessed from the "
        "upload URL: .../+simple/ for devpi, /simple/ for pypiserver)",
    )
    parser.add_argument(
        "--non-interactive",
        action="store_true",
        help="never prompt for a username or password (prompts happen only on a terminal)",
    )
    parser.add_argument("--retries", type=int, default=3, help="on connection errors and 5xx")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up on a server silent this long (default 300; each retry waits again)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and show the upload order only"
    )
    parser.set_defaults(func=run)


def _progress(stream: Any):  # type: ignore[no-untyped-def]  # rich is imported lazily
    """A rich progress bar on a terminal; None (plain lines) otherwise."""
    if not stream.isatty():
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(file=stream),
        transient=True,
        # result lines go to stdout; through the live display only when it is the same terminal
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
    )


def _prompt(repo: Any) -> Any:
    """Ask for what is missing on the terminal, as twine does; the password is not echoed."""
    import getpass

    username = repo.credentials.username
    typed = None
    if username is None:
        typed = input(f"Username for {repo.url}: ").strip() or None
    who = username or typed or "(no user)"
    password = getpass.getpass(f"Password for {who} at {repo.url}: ")
    return publish_api.with_typed_credentials(repo, username=typed, password=password)


def run(args: argparse.Namespace) -> int:
    from varwheel.cli.main import printable

    options = publish_api.PublishOptions(
        skip_existing=args.skip_existing,
        variants_index=args.variants_index,
        server_index_url=args.server_index_url,
        retries=args.retries,
        timeout=args.timeout,
    )
    reporter = LineReporter()
    plan = publish_api.plan_publish(args.dists, reporter=reporter)
    if args.dry_run:
        for path in plan.files:
            print(f"would upload {path.name}")
        for (project, version), _ in sorted(plan.variants.items()):
            print(
                f"variant metadata {project} {version}: merged, not uploaded (see --variants-index)"
            )
        return 0
    repo = publish_api.find_repository(
        repository_url=args.repository_url,
        repository=args.repository,
        username=args.username,
        password=args.password,
        config_file=args.config_file,
        reporter=reporter,
    )
    if repo.credentials.password is None and not args.non_interactive and sys.stdin.isatty():
        repo = _prompt(repo)
    print(
        f"uploading {len(plan.files)} file(s) to {repo.url} (credentials: {repo.credentials.source})"
    )
    progress = _progress(sys.stderr)
    task: list[Any] = []

    def on_start(path: Path) -> None:
        if progress is not None:
            task[:] = [progress.add_task(path.name, total=None)]  # on_progress brings it

    def on_progress(sent: int, total: int) -> None:
        if progress is not None and task:
            progress.update(task[0], completed=sent, total=total)

    def on_done(result: Any) -> None:
        if progress is not None and task:
            progress.remove_task(task[0])
        retried = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        if result.outcome is UploadOutcome.EXISTS:
            print(f"exists   {result.filename} (HTTP {result.status}: {printable(result.reason)})")
        else:
            print(f"uploaded {result.filename}{retried}")

    if progress is not None:
        progress.start()
    try:
        report = publish_api.publish(
            plan, repo, options, on_start=on_start, on_progress=on_progress, on_done=on_done
        )
    finally:
        if progress is not None:
            progress.stop()
    for (project, version), _ in sorted(plan.variants.items()):
        if report.side_index is not None:
            print(
                f"variant metadata of {project} {version}: side index {args.variants_index} "
                f"(its pages link {report.server_index}); installers use --index-url "
                "<where DIR is served>/simple/"
            )
        else:
            print(
                f"variant metadata of {project} {version}: in each wheel's variant.json (the "
                f"server cannot host {project}-{version}-variants.json); varwheel reads it with "
                "range requests; --variants-index DIR writes the index-level file"
            )
    return 0


__all__ = ["register", "run"]
