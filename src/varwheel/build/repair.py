"""Running wheel repair tools (auditwheel, delocate-wheel, delvewheel) on variant wheels.

The tools parse wheel file names with five parts only: auditwheel 6.8.2 fails on a label with
``Invalid build number: cp311`` (build-publish.md), like the numpy variant fork's CI found. So the
label is stripped (a pure rename: ``variant.json`` stays inside the archive), the tool runs on the
plain name, and the label is put back on each wheel it wrote; ``variant.json`` is checked to have
survived byte for byte, and restored when a tool dropped or changed it. An ``.so`` built for
x86-64-v3 carries an ISA note that auditwheel refuses unless ``--disable-isa-ext-check`` is given,
so that flag is added for x86-64 level variants.

The command uses cibuildwheel's placeholders: ``{wheel}`` (the stripped wheel) and ``{dest_dir}``
(where the tool writes); without them the wheel is appended and, for the three known tools,
``-w {dest_dir}`` added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from varwheel.build.errors import BuildFailed, InvalidWheel
from varwheel.build.make_variant import read_wheel_variant, relabel
from varwheel.errors import InvalidInput

__all__ = ["RepairResult", "plan_command", "repair_wheel", "tool_name"]

ISA_FLAG = "--disable-isa-ext-check"
_TOOLS_WITH_W = ("auditwheel", "delocate-wheel", "delvewheel")


@dataclass(frozen=True)
class RepairResult:
    """A repaired wheel: its path, and whether ``variant.json`` had to be put back."""

    path: Path
    restored: bool


def tool_name(command: Sequence[str]) -> str:
    """``auditwheel`` for ``auditwheel ...``, ``/x/auditwheel ...`` and ``python -m auditwheel``."""
    if not command:
        return ""
    name = Path(command[0]).name
    if name.startswith("python") and len(command) > 2 and command[1] == "-m":
        name = command[2]
    return name.removesuffix(".exe")


def plan_command(
    command: Sequence[str], *, wheel: Path, dest_dir: Path, x86_64_level: bool
) -> list[str]:
    """The tool's argv: placeholders filled, the wheel and ``-w`` added where missing,
    ``--disable-isa-ext-check`` for auditwheel on an x86-64 level variant."""
    if not command:
        raise InvalidInput("repair needs the tool's command after --, e.g. -- auditwheel repair")
    tool = tool_name(command)
    argv = [a.replace("{wheel}", str(wheel)).replace("{dest_dir}", str(dest_dir)) for a in command]
    joined = " ".join(command)
    if "{dest_dir}" not in joined:
        if tool not in _TOOLS_WITH_W:
            raise InvalidInput(
                f"repair: tell {tool or command[0]!r} where to write with {{dest_dir}} "
                "(as in cibuildwheel's repair-wheel-command)"
            )
        argv += ["-w", str(dest_dir)]
    if "{wheel}" not in joined:
        argv.append(str(wheel))
    if tool == "auditwheel" and x86_64_level and ISA_FLAG not in argv and "repair" in argv:
        at = argv.index("repair") + 1
        argv.insert(at, ISA_FLAG)
    return argv


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def repair_wheel(
    wheel: Path | str, command: Sequence[str], *, out_dir: Path | str
) -> tuple[RepairResult, ...]:
    """Run ``command`` on the unlabelled ``wheel`` and label what it writes; the results reach
    ``out_dir`` only when every wheel the tool wrote carries the variant again."""
    path = Path(wheel)
    original = read_wheel_variant(path)
    if original.label is None or original.variant_json is None:
        raise InvalidWheel(f"{path.name}: not a variant wheel; run the repair tool directly")
    label = original.label
    x86_level = any(p.namespace == "x86_64" and p.feature == "level" for p in original.properties)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".varwheel-repair-", dir=out) as tmp:
        scratch = Path(tmp)
        (scratch / "in").mkdir()
        dest = scratch / "repaired"
        dest.mkdir()
        plain = scratch / "in" / original.filename.with_label(None).filename
        shutil.copyfile(path, plain)
        argv = plan_command(command, wheel=plain, dest_dir=dest, x86_64_level=x86_level)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise BuildFailed(f"repair: cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            raise BuildFailed(
                f"{path.name}: {tool_name(command)} failed (exit {proc.returncode}): "
                f"{_last_line(proc.stderr or proc.stdout)}",
                log=tuple((proc.stdout + proc.stderr).splitlines()[-30:]),
            )
        written = sorted(dest.glob("*.whl"))
        if not written:
            raise BuildFailed(f"{path.name}: {tool_name(command)} wrote no wheel into its output")
        staged = scratch / "labelled"
        results = []
        for repaired in written:
            found = read_wheel_variant(repaired)
            if (found.filename.project, found.filename.version) != (
                original.filename.project,
                original.filename.version,
            ):
                # a tool (or what it was tricked into) wrote another distribution: never give
                # it this variant's label and variant.json
                raise InvalidWheel(
                    f"{path.name}: {tool_name(command)} wrote {repaired.name}, not a build of "
                    f"{original.filename.project} {original.filename.version}; nothing was written"
                )
            survived = found.variant_json == original.variant_json
            labelled = relabel(repaired, staged, variant_json=original.variant_json, label=label)
            again = read_wheel_variant(labelled)
            if again.label != label or again.properties != original.properties:
                raise InvalidWheel(f"{labelled.name}: the variant did not survive the repair")
            results.append(RepairResult(labelled, restored=not survived))
        final = []
        for result in results:
            target = out / result.path.name
            os.replace(result.path, target)
            final.append(RepairResult(target, result.restored))
        return tuple(final)
