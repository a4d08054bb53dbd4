"""Rich rendering of ``explain`` and ``install`` results (human output; ``--json`` bypasses it)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from varwheel.cli.plain import escape  # = rich.markup.escape, without importing rich
from varwheel.codes import EnvironmentSource, ExplainStatus, ReasonCode
from varwheel.reporter import Event, EventKind, Progress, Reporter

if TYPE_CHECKING:
    from rich.console import Console

    from varwheel.api import (
        Environment,
        InstalledDistribution,
        PackageExplanation,
        Resolution,
        ResolvedPackage,
    )

    TargetEnvironment = Environment

_STATUS_STYLE = {
    ExplainStatus.CHOSEN: "bold green",
    ExplainStatus.COMPATIBLE: "green",
    ExplainStatus.REJECTED: "red",
}


def _values(values: list[str], limit: int = 8) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", … ({len(values) - limit} more)" if len(values) > limit else "")


def _reason(message: str, filename: str) -> str:
    return message.removeprefix(f"{filename}: ")


def _without_provider_reason(reason: str, unavailable: Mapping[str, str]) -> str:
    """A rejection's provider reason is printed once under "target supports", not again on
    every wheel it rejects (one such reason is a few hundred characters)."""
    for ns, why in unavailable.items():
        if why and reason.endswith(f"; {why}"):
            return f"{reason[: -len(why) - 2]} ({ns}: see above)"
    return reason


def render_explanation(
    console: Console, expl: PackageExplanation, *, all_wheels: bool = False, verbose: bool = False
) -> None:
    """Ranked wheels with why each is where it is in plain words (``verbose``: also the rule
    and its PEP section), rejected ones with the reason; wheels rejected only for their tags
    are counted, not listed, unless ``all_wheels``."""
    if expl.version is None:
        console.print(f"[bold]{escape(expl.requirement)}[/]: " + escape("; ".join(expl.notes)))
        return
    head = f"[bold]{escape(expl.name)} {escape(expl.version)}[/]"
    if expl.requirement != expl.name:
        head += f"  (for {escape(expl.requirement)})"
    console.print(head)
    for skipped in expl.skipped:
        console.print(f"  skipped {escape(skipped.version)}: {escape(skipped.reason)}")
    if expl.route:
        console.print(f"  variant metadata: {escape(expl.route)}")
    if expl.supported or expl.unavailable:
        # the features this version's variants use; the others are counted (--json lists them)
        used = {tuple(p.split(" :: ")[:2]) for w in expl.wheels for p in w.properties}
        console.print("  target supports:")
        for ns, feats in expl.supported.items():
            other = 0
            for feat, values in feats.items():
                if (ns, feat) in used or all_wheels:
                    console.print(f"    {escape(ns)} :: {escape(feat)}: {escape(_values(values))}")
                else:
                    other += 1
            if other:
                console.print(f"    {escape(ns)}: {other} more feature(s) no variant here uses")
        for ns, why in expl.unavailable.items():
            # present but empty: the provider ran and found nothing; absent: it did not run
            state = "nothing supported" if ns in expl.supported else "unavailable"
            console.print(f"    {escape(ns)}: [yellow]{state}[/] ({escape(why)})")
    ranked = [w for w in expl.wheels if w.status is not ExplainStatus.REJECTED]
    rejected = [w for w in expl.wheels if w.status is ExplainStatus.REJECTED]
    if ranked:
        console.print("  compatible wheels, best first:")
        for w in ranked:
            style = _STATUS_STYLE[w.status]
            label = escape(f"[{w.label or 'non-variant'}]")
            console.print(
                f"    {w.rank}. {escape(w.filename)} {label} [{style}]{w.status}[/]:"
                f" {escape(w.why or w.decided_by)}"
            )
            if verbose and w.why and w.why != w.decided_by:
                rule = f"{w.decided_by} ({w.source})" if w.source else w.decided_by
                console.print(f"       rule: {escape(rule)}")
    by_tag = [w for w in rejected if w.reason_code == ReasonCode.TAG_MISMATCH]
    listed = (
        rejected
        if all_wheels
        else [w for w in rejected if w.reason_code != ReasonCode.TAG_MISMATCH]
    )
    if listed:
        console.print("  rejected:")
        for w in listed:
            label = escape(f"[{w.label or 'non-variant'}]")
            why = _without_provider_reason(_reason(w.reason, w.filename), expl.unavailable)
            console.print(f"    {escape(w.filename)} {label}: [red]{escape(why)}[/]")
    if by_tag and not all_wheels:
        console.print(
            f"  {len(by_tag)} more wheel(s) for other platforms or Pythons (tags do not match "
            "the target; --all-wheels lists them)"
        )
    for sdist in expl.sdists:
        console.print(f"  sdist: {escape(sdist)}")
    if expl.chosen:
        label = f" (variant {expl.chosen_label})" if expl.chosen_label else " (non-variant)"
        console.print(f"  [bold green]chosen:[/] {escape(expl.chosen)}{escape(label)}")
    if expl.dependencies is not None:
        deps = ", ".join(expl.dependencies) or "none"
        console.print(f"  dependencies of the chosen wheel: {escape(deps)}")
    for note in expl.notes:
        console.print(f"  note: {escape(note)}")


def describe_environment(env: TargetEnvironment) -> str:
    """``/p/.venv (Python 3.12.3, found at ./.venv)``; a system interpreter names its binary."""
    how = {
        EnvironmentSource.PYTHON: "--python",
        EnvironmentSource.VIRTUAL_ENV: "from $VIRTUAL_ENV",
        EnvironmentSource.PROJECT_VENV: "found at ./.venv",
        EnvironmentSource.RUNNING: "the running interpreter",
    }.get(env.source, str(env.source))
    extra = f", {how}" if how else ""
    if env.is_virtualenv:
        return f"{env.prefix} (Python {env.python_full_version}{extra})"
    return f"{env.prefix} (system Python {env.python_full_version} at {env.python}{extra})"


def environment_json(env: TargetEnvironment) -> dict[str, object]:
    """The ``target_environment`` object of ``install --report`` and ``explain --json``."""
    return {
        "prefix": str(env.prefix),
        "python": str(env.python),
        "python_full_version": env.python_full_version,
        "virtualenv": env.is_virtualenv,
        "source": env.source,
    }


def describe_package(pkg: ResolvedPackage) -> str:
    cand = pkg.candidate
    if cand.installed:
        return f"{cand.name} {cand.version} (already installed)"
    if cand.is_sdist:
        return f"{cand.name} {cand.version} (built from {cand.filename})"
    what = f"variant {cand.label}" if cand.label else "non-variant"
    return f"{cand.name} {cand.version} ({what}: {cand.filename})"


def render_plan(
    console: Console,
    resolution: Resolution,
    *,
    dry_run: bool,
    verbose: bool = False,
    installed: Mapping[str, InstalledDistribution] | None = None,
) -> None:
    """The plan; ``installed`` (the target's distributions) names what each install replaces,
    as pip's "Found existing installation"."""
    todo = [p for p in resolution.packages if not p.candidate.installed]
    kept = [p for p in resolution.packages if p.candidate.installed]
    verb = "Would install" if dry_run else "Installing"
    if todo:
        console.print(f"{verb} {len(todo)} package(s):")
        for pkg in todo:
            old = (installed or {}).get(pkg.name)
            replaces = ""
            if old is not None:
                label = f" [{old.label}]" if old.label else ""
                shown = old.version if old.parsed_version is None else old.parsed_version
                replaces = f", replacing {shown}{label}"
            console.print(f"  {escape(describe_package(pkg) + replaces)}")
            if verbose and pkg.choice is not None:
                route = pkg.choice.route or "no variant metadata needed"
                why = pkg.candidate.decided_by or "only candidate"
                console.print(f"    chosen because: {escape(why)}; metadata: {escape(route)}")
    for pkg in kept:
        console.print(f"Requirement already satisfied: {escape(describe_package(pkg))}")
    if not todo and not kept:
        console.print("Nothing to install.")


def render_installed(console: Console, installed: Sequence[ResolvedPackage]) -> None:
    if installed:
        names = ", ".join(f"{p.name}-{p.candidate.version}" for p in installed)
        console.print(f"Successfully installed {escape(names)}")


_BAR_WIDTH = 20
_FIGURES_WIDTH = 28  # "999.9/999.9 MB" and "999.9 MB/s" with the spaces between columns
_MIN_NAME = 16


def _shortened(name: str, room: int) -> str:
    """``name`` in at most ``room`` characters: its start and its end (where a wheel's tags
    and variant label are), joined by an ellipsis."""
    if len(name) <= room:
        return name
    tail = (room - 1) * 2 // 5
    return f"{name[: room - 1 - tail]}…{name[len(name) - tail :]}"


@contextmanager
def download_progress(console: Console, total_files: int) -> Iterator[object]:
    """A rich progress bar on a terminal; a no-op callback elsewhere. Yields ``callback(event)``
    for ``download_many`` progress events (``file``, ``downloaded``, ``total``, ``done``)."""
    if not console.is_terminal or total_files == 0:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )
    from rich.table import Column

    # one row per file, never wrapped: at 80 columns a long wheel name used to push the size
    # and speed onto a second line that the next refresh could not erase
    progress = Progress(
        TextColumn("{task.description}", table_column=Column(no_wrap=True)),
        BarColumn(bar_width=_BAR_WIDTH),
        DownloadColumn(table_column=Column(no_wrap=True)),
        TransferSpeedColumn(table_column=Column(no_wrap=True)),
        console=console,
        transient=True,
    )
    room = max(_MIN_NAME, console.width - _BAR_WIDTH - _FIGURES_WIDTH)
    tasks: dict[str, int] = {}

    def callback(event: object) -> None:
        file = event.file  # type: ignore[attr-defined]
        key = file.filename
        if key not in tasks:
            shown = escape(_shortened(key, room))
            tasks[key] = progress.add_task(shown, total=event.total)  # type: ignore[attr-defined]
        progress.update(tasks[key], completed=event.downloaded, total=event.total)  # type: ignore[attr-defined]

    with progress:
        yield callback


def dump_report(report: Mapping[str, object]) -> str:
    """The ``--report`` JSON text."""
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


class ConsoleReporter(Reporter):
    """The command line's reporter: warnings and notes as ``varwheel: warning: ...`` /
    ``varwheel: note: ...`` lines on stderr as they come, the environment acted on as ``Using
    environment ...`` (not with ``quiet``), download progress as a rich bar on ``console``."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        super().__init__()
        self.console = console
        self.quiet = quiet

    def emit(self, event: Event, env: TargetEnvironment | None = None) -> None:
        if event.kind is EventKind.ENVIRONMENT:
            if not self.quiet and env is not None:
                print(f"Using environment {describe_environment(env)}", file=sys.stderr)
            return
        # a warning may quote downloaded metadata (markers, plugin errors): escape control chars
        from varwheel.cli.main import printable

        print(f"varwheel: {event.kind.value}: {printable(event.text)}", file=sys.stderr)

    @contextmanager
    def downloads(self, count: int) -> Iterator[Progress | None]:
        if self.console is None:
            yield None
            return
        with download_progress(self.console, count) as callback:
            yield callback  # type: ignore[misc]
