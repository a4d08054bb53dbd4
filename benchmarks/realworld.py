#!/usr/bin/env python3
"""Real-world install benchmark: varwheel vs uv 0.13.9 vs pip 26.3 on real wheels from PyPI.

The workload is the pinned closure below (30 wheels: pure-Python ones and six binary ones, numpy
among them), downloaded ONCE with ``pip download`` into benchmarks/.cache/realworld/ (git-ignored)
and then served from a local PEP 503/691 index (``varwheel index build``) on 127.0.0.1 with
PyPI's ``Cache-Control`` headers (pages max-age=600, files immutable): nothing touches the
network while it measures. The top-level requirements (``REQUIREMENTS``) are resolved by each
tool from that index into a fresh venv per run (a copy of a template venv with pip 26.3).

Rows: warm (each tool's own cache, filled by the warm-up round), cold (pip --no-cache-dir,
uv --no-cache, varwheel with an empty cache directory per run) and no-op (the same command again
into an environment that already has everything). Rounds are interleaved; medians and the
medians of varwheel's per-round ratios are printed. A peer that is missing is left out.

    .venv/bin/python benchmarks/realworld.py [--samples 5] [--only warm,cold,noop] [--json F]
    .venv/bin/python benchmarks/realworld.py --download-only   # fill the cache, measure nothing
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BIN,
    REPO,
    BenchmarkError,
    InstallTool,
    Row,
    find_uv,
    make_row,
    print_header,
    render,
    timed,
    write_json,
)

CACHE = REPO / "benchmarks" / ".cache" / "realworld"

#: the whole closure of REQUIREMENTS on CPython 3.11 / manylinux x86_64, pinned (30 wheels)
PINS = (
    "requests==2.32.3",
    "urllib3==2.2.3",
    "idna==3.10",
    "certifi==2024.8.30",
    "charset-normalizer==3.4.0",  # binary
    "rich==13.9.4",
    "markdown-it-py==3.0.0",
    "mdurl==0.1.2",
    "pygments==2.18.0",
    "click==8.1.7",
    "attrs==24.2.0",
    "numpy==2.1.3",  # binary, 16 MB
    "python-dateutil==2.9.0.post0",
    "six==1.16.0",
    "pytz==2024.2",
    "jinja2==3.1.4",
    "markupsafe==3.0.2",  # binary
    "pyyaml==6.0.2",  # binary
    "packaging==24.2",
    "pluggy==1.5.0",
    "iniconfig==2.0.0",
    "pytest==8.3.3",
    "pydantic==2.9.2",
    "pydantic-core==2.23.4",  # binary
    "annotated-types==0.7.0",
    "typing-extensions==4.12.2",
    "wrapt==1.16.0",  # binary
    "tqdm==4.67.1",
    "filelock==3.16.1",
    "platformdirs==4.3.6",
)
#: what a user's requirements file would name; the rest comes in as dependencies
REQUIREMENTS = (
    "requests",
    "rich",
    "click",
    "attrs",
    "numpy",
    "python-dateutil",
    "pytz",
    "jinja2",
    "pyyaml",
    "pytest",
    "pydantic",
    "wrapt",
    "tqdm",
    "filelock",
    "platformdirs",
)
PARTS = ("warm", "cold", "noop")


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def missing_wheels(directory: Path, pins: Sequence[str] = PINS) -> list[str]:
    """The pins that have no wheel in ``directory`` yet."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    have = set()
    for path in directory.glob("*.whl"):
        with contextlib.suppress(InvalidWheelFilename):
            name, version, _, _ = parse_wheel_filename(path.name)
            have.add((str(name), str(version)))
    out = []
    for pin in pins:
        name, _, version = pin.partition("==")
        if (_canonical(name), version) not in have:
            out.append(pin)
    return out


def download(directory: Path, pins: Sequence[str] = PINS) -> None:
    """``pip download`` the wheels not yet in ``directory`` (the only network use, once)."""
    todo = missing_wheels(directory, pins)
    if not todo:
        return
    directory.mkdir(parents=True, exist_ok=True)
    print(f"   downloading {len(todo)} wheel(s) once into {directory} ...")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"),
            *("-d", str(directory), *todo),
        ],
        check=True,
    )
    still = missing_wheels(directory, pins)
    if still:
        raise BenchmarkError(f"pip download left these without a wheel: {', '.join(still)}")


def build_index(wheels: Sequence[Path], dest: Path) -> Path:
    """A static PEP 503/691 index of ``wheels`` made by ``varwheel index build``; returns dest."""
    argv = [str(BIN / "varwheel"), "index", "build", "-q", "-o", str(dest), *map(str, wheels)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchmarkError(
            f"varwheel index build exited {proc.returncode}: {proc.stderr[-1500:]}"
        )
    return dest


def installed(venv: Path, pins: Sequence[str]) -> int:
    """How many of ``pins`` (name==version) have a .dist-info in ``venv``."""
    site = next((venv / "lib").glob("python*/site-packages"))
    found = set()
    for info in site.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].rpartition("-")
        found.add((_canonical(name), version))
    return sum(
        (_canonical(pin.partition("==")[0]), pin.partition("==")[2]) in found for pin in pins
    )


class VenvPool:
    """Fresh venvs as copies of a template (made outside the timing)."""

    def __init__(self, root: Path, template: Path) -> None:
        self.root, self.template, self.count = root, template, 0

    def fresh(self) -> Path:
        venv = self.root / f"v{self.count}"
        self.count += 1
        shutil.copytree(self.template, venv, symlinks=True)
        return venv


def tool_argv(tool: InstallTool, venv: Path, args: Sequence[str], *, cold: bool) -> list[str]:
    """``install.Tool``'s command for ``venv`` ("{V}" the venv, "{PY}" its python)."""
    base = [
        a.replace("{V}", str(venv)).replace("{PY}", str(venv / "bin" / "python")) for a in tool.argv
    ]
    return base + (list(tool.cold_flags) if cold else []) + list(args)


def install_row(
    title: str,
    tools: Sequence[InstallTool],
    args_for: Mapping[str, Sequence[str]],
    *,
    check: Callable[[Path], str | None],
    cold: bool,
    samples: int,
    warmup: int,
    work: Path,
    template: Path,
    env: Mapping[str, str],
) -> Row:
    """Each round installs into a fresh venv per tool; ``check`` returns a problem or None."""
    caches = {t.name: work / "cache" / t.name.replace(" ", "_") for t in tools}
    for cache in caches.values():
        shutil.rmtree(cache, ignore_errors=True)
    pool = VenvPool(work / "pool", template)
    times: dict[str, list[float]] = {t.name: [] for t in tools}
    for round_no in range(warmup + samples):
        for tool in tools:
            name = tool.name
            venv = pool.fresh()
            if cold:
                shutil.rmtree(caches[name], ignore_errors=True)
            run_env = dict(env, **dict(tool.extra_env), **{tool.cache_env: str(caches[name])})
            elapsed = timed(tool_argv(tool, venv, args_for[name], cold=cold), run_env)
            problem = check(venv)
            if problem:
                raise BenchmarkError(f"{name}: {problem}")
            if round_no >= warmup:
                times[name].append(elapsed)
            shutil.rmtree(venv)
    return make_row(title, times)


def noop_row(
    title: str,
    tools: Sequence[InstallTool],
    args_for: Mapping[str, Sequence[str]],
    *,
    check: Callable[[Path], str | None],
    samples: int,
    warmup: int,
    work: Path,
    template: Path,
    env: Mapping[str, str],
) -> Row:
    """Each tool installs once (untimed) into its own venv; then the same command is timed."""
    pool = VenvPool(work / "pool-noop", template)
    prepared = {}
    for tool in tools:
        name = tool.name
        venv = pool.fresh()
        run_env = dict(
            env,
            **dict(tool.extra_env),
            **{tool.cache_env: str(work / "cache-noop" / name.replace(" ", "_"))},
        )
        timed(tool_argv(tool, venv, args_for[name], cold=False), run_env)
        problem = check(venv)
        if problem:
            raise BenchmarkError(f"{name}: {problem}")
        prepared[name] = partial(timed, tool_argv(tool, venv, args_for[name], cold=False), run_env)
    times: dict[str, list[float]] = {name: [] for name in prepared}
    for round_no in range(warmup + samples):
        for name, step in prepared.items():
            elapsed = step()
            if round_no >= warmup:
                times[name].append(elapsed)
    return make_row(title, times)


def select_tools(names: str) -> list[InstallTool]:
    """install.py's tools by name, less the peers that are not here (uv must be 0.13.9)."""
    import install

    wanted = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in install.TOOLS:
            raise SystemExit(f"unknown tool {name!r} (one of {', '.join(install.TOOLS)})")
        if name == "uv" and find_uv() is None:
            print("note: uv 0.13.9 not found next to this python: its column is left out")
            continue
        wanted.append(install.TOOLS[name])
    return wanted


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    path = Path(tempfile.mkdtemp(prefix="varwheel-bench-realworld-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(
    parts: Sequence[str],
    tools: Sequence[InstallTool],
    *,
    wheels_dir: Path,
    samples: int,
    warmup: int,
    work: Path,
) -> list[Row]:
    import install

    wheels = sorted(wheels_dir.glob("*.whl"))
    pins = [p for p in PINS if not missing_wheels(wheels_dir, [p])]
    index = build_index(wheels, work / "index")
    template = install.template_venv()
    env = install.clean_env(work)
    size = sum(p.stat().st_size for p in wheels)
    print(f"   {len(wheels)} real wheels, {size / 1e6:.1f} MB, from {wheels_dir}")

    def check(venv: Path) -> str | None:
        got = installed(venv, pins)
        return None if got == len(pins) else f"installed {got} of the {len(pins)} pinned wheels"

    rows = []
    with install.serve(index) as url:
        args = ["--index-url", url, *REQUIREMENTS]
        args_for = {t.name: args for t in tools}
        common = dict(samples=samples, warmup=warmup, work=work, template=template, env=env)
        title = f"real world: {len(wheels)} PyPI wheels, local HTTP index"
        for part in parts:
            if part == "noop":
                rows.append(noop_row(f"{title}, no-op", tools, args_for, check=check, **common))
            else:
                rows.append(
                    install_row(
                        f"{title}, {part}",
                        tools,
                        args_for,
                        check=check,
                        cold=part == "cold",
                        **common,
                    )
                )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument(
        "--only", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS)
    )
    parser.add_argument("--tools", default="varwheel,uv,pip", help="comma-separated (install.py's)")
    parser.add_argument(
        "--wheels", type=Path, default=CACHE, help=f"the wheel cache (default {CACHE})"
    )
    parser.add_argument(
        "--download-only", action="store_true", help="fill the wheel cache and stop"
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--json", type=Path, help="also write the rows here as JSON")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    try:
        download(args.wheels)
    except (subprocess.CalledProcessError, BenchmarkError) as exc:
        print(f"error: could not fill {args.wheels}: {exc}", file=sys.stderr)
        return 1
    if args.download_only:
        return 0
    tools = select_tools(args.tools)
    import varwheel

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(varwheel.__file__).parent)], check=True
    )
    print_header("real-world install benchmark", f"{args.samples} runs + {args.warmup} warm-up")
    try:
        with workdir(args.keep) as work:
            rows = run(
                parts,
                tools,
                wheels_dir=args.wheels,
                samples=args.samples,
                warmup=args.warmup,
                work=work,
            )
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(rows))
    if args.json:
        write_json(args.json, rows, {"script": "realworld", "pins": list(PINS)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
