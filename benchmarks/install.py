#!/usr/bin/env python3
"""Install benchmark: varwheel vs pip vs uv 0.13.9, side by side, whole process, fresh venv per run.

Workloads (generated here, in a temporary directory):
  (a) 30 small inter-dependent pure-Python wheels (like perf-anchors W3: 4-6 modules of ~2 KB,
      dependencies i -> i+1, i+4 and a few with markers, every 5th with a console script), all 30
      named on the command line, from a local --find-links directory and from a static PEP 503/691
      index (with PEP 658 metadata) served on 127.0.0.1 by a threaded http.server (backlog 128);
  (b) a variant package like W2: tinypkg 1.0.0 as x86_64_v1..v4 + null + the plain wheel (six
      wheels) + tinypkg-1.0.0-variants.json, from --find-links; uv with
      --preview-features wheel-variants;
  (noop) the 30 wheels of (a) named again, from find-links, into a venv where each tool already
      installed them: every requirement satisfied (pip's "Requirement already satisfied").
Each timed command installs into its own fresh venv (copies of a template venv with pip, made
before the timing). Tools run in turn (A B C A B C ...), after warm-up runs. "warm" = each tool's
own cache, filled by the warm-up; "cold" = pip --no-cache-dir, uv --no-cache, varwheel with an
empty cache directory per run. Bytecode: none of varwheel/uv compile by default, pip does; the
"pip --no-compile" column is the like-for-like figure. Reported: median [min-max] seconds and the
median of the per-round ratios.

    .venv/bin/python benchmarks/install.py [--samples 5] [--only a-files,a-http,b,noop] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.wheels import build_wheel, variant_json  # noqa: E402

BIN = Path(sys.executable).parent
UV = BIN / "uv"
VARWHEEL = BIN / "varwheel"
PIP_VERSION = "26.3"
TEMPLATE_CACHE = Path(tempfile.gettempdir()) / "varwheel-bench-template"


@dataclass(frozen=True)
class Tool:
    name: str
    argv: tuple[str, ...]  # "{V}" = the venv dir, "{PY}" = its python
    cold_flags: tuple[str, ...]
    cache_env: str  # environment variable pointing the tool's cache somewhere
    extra_env: tuple[tuple[str, str], ...] = ()  # e.g. PYTHONPATH of an older varwheel


TOOLS = {
    "varwheel": Tool(
        "varwheel", (str(VARWHEEL), "install", "-q", "--python", "{V}"), (), "VARWHEEL_CACHE_DIR"
    ),
    "pip": Tool(
        "pip", ("{PY}", "-m", "pip", "install", "-q"), ("--no-cache-dir",), "PIP_CACHE_DIR"
    ),
    "pip --no-compile": Tool(
        "pip --no-compile",
        ("{PY}", "-m", "pip", "install", "-q", "--no-compile"),
        ("--no-cache-dir",),
        "PIP_CACHE_DIR",
    ),
    "uv": Tool(
        "uv", (str(UV), "pip", "install", "-q", "--python", "{PY}"), ("--no-cache",), "UV_CACHE_DIR"
    ),
}


# --- workloads ------------------------------------------------------------------------------


def _module_source(rng: random.Random, mod: str, nfuncs: int) -> str:
    out = [f'"""Generated module {mod}."""', "import math", ""]
    for i in range(nfuncs):
        a, b = rng.randrange(1, 99), rng.randrange(1, 99)
        out += [
            f"def f{i}(x, y={b}):",
            f'    """Function {i} of {mod}."""',
            "    total = 0",
            "    for k in range(x):",
            f"        total += (k * {a} + y) % {a + b}",
            f"    return math.sqrt(total) + {i}",
            "",
        ]
    out.append(f"CONSTANTS = {[rng.randrange(1000) for _ in range(20)]!r}\n")
    return "\n".join(out)


def make_plain_wheels(dest: Path, n: int = 30) -> list[str]:
    rng = random.Random(825)
    names = [f"vwbpkg-{i:02d}" for i in range(n)]
    for i, name in enumerate(names):
        pkg = name.replace("-", "_")
        files = {f"{pkg}/__init__.py": f'"""{name}"""\n__version__ = "1.0.0"\n'}
        for m in range(4 + i % 3):
            files[f"{pkg}/mod{m}.py"] = _module_source(rng, f"{pkg}.mod{m}", 12)
        reqs = [f"{names[j]}>=1.0" for j in (i + 1, i + 4) if j < n]
        if i % 7 == 3 and i + 9 < n:
            reqs.append(f'{names[i + 9]}>=0.5; python_version >= "3.8"')
        entry_points = None
        if i % 5 == 0:
            files[f"{pkg}/cli.py"] = "def main():\n    print('hi')\n"
            entry_points = {"console_scripts": {f"{name}-cli": f"{pkg}.cli:main"}}
        build_wheel(
            dest,
            name,
            "1.0.0",
            files=files,
            requires_dist=reqs,
            entry_points=entry_points,
            requires_python=">=3.8",
        )
    return names


def make_variant_package(dest: Path) -> None:
    providers = {"x86_64": {"requires": ["x86-64-variant-provider"]}}
    files = {"tinypkg/__init__.py": '__version__ = "1.0.0"\n'}
    variants: dict[str, object] = {}
    for level in ("v1", "v2", "v3", "v4"):
        doc = variant_json(f"x86_64_{level}", [f"x86_64 :: level :: {level}"], providers=providers)
        variants.update(doc["variants"])  # type: ignore[arg-type]
        build_wheel(dest, "tinypkg", "1.0.0", variant=doc, files=files)
    null = variant_json("null", [], providers=providers, namespace_priorities=["x86_64"])
    build_wheel(dest, "tinypkg", "1.0.0", variant=null, files=files)
    build_wheel(dest, "tinypkg", "1.0.0", files=files)
    index_doc = dict(null, variants={**variants, "null": {}})
    (dest / "tinypkg-1.0.0-variants.json").write_text(
        json.dumps(index_doc, indent=4, sort_keys=True) + "\n"
    )


# --- environment ----------------------------------------------------------------------------


def clean_env(work: Path) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set on some CI machines) is dropped: with it an editable varwheel
    # would compile all of its modules on every start, which no real installation does.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV", "VARWHEEL_", "PYTHONDONTWRITEBYTECODE"))
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
    )
    return env


def template_venv() -> Path:
    """A venv with pip 26.3 (as in perf-anchors), made once and reused across runs."""
    python = TEMPLATE_CACHE / "bin" / "python"
    if python.exists():
        out = subprocess.run(
            [str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=False
        )
        if out.stdout.startswith(f"pip {PIP_VERSION} "):
            return TEMPLATE_CACHE
    shutil.rmtree(TEMPLATE_CACHE, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(TEMPLATE_CACHE)], check=True)
    got = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"pip=={PIP_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if got.returncode != 0:
        print(
            f"note: could not install pip {PIP_VERSION} (using the bundled pip): {got.stderr.strip()[-200:]}"
        )
    return TEMPLATE_CACHE


class _Pool:
    def __init__(self, root: Path, template: Path) -> None:
        self.root, self.template, self.count = root, template, 0

    def fresh(self) -> Path:
        venv = self.root / f"v{self.count}"
        self.count += 1
        shutil.copytree(self.template, venv, symlinks=True)
        return venv


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    page_max_age = 600  # PyPI's simple pages say ``Cache-Control: max-age=600``

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        if self.page_max_age and self.path.startswith("/simple/"):
            self.send_header("Cache-Control", f"max-age={self.page_max_age}, public")
        elif self.page_max_age and self.path.startswith("/files/"):
            # as files.pythonhosted.org: a file URL never changes
            self.send_header("Cache-Control", "max-age=365000000, immutable, public")
        super().end_headers()


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = (
        128  # the stdlib default (5) drops uv's parallel connects (perf-anchors W3)
    )
    daemon_threads = True


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


# --- timing ---------------------------------------------------------------------------------


def _argv(tool: Tool, venv: Path, args: Sequence[str], cold: bool) -> list[str]:
    base = [
        a.replace("{V}", str(venv)).replace("{PY}", str(venv / "bin" / "python")) for a in tool.argv
    ]
    return base + (list(tool.cold_flags) if cold else []) + list(args)


def _check(workload: str, venv: Path) -> str:
    site = next((venv / "lib").glob("python*/site-packages"))
    if workload == "a":
        n = len(list(site.glob("vwbpkg_*.dist-info")))
        return f"{n}/30 dists"
    vj = site / "tinypkg-1.0.0.dist-info" / "variant.json"
    if not (site / "tinypkg-1.0.0.dist-info").exists():
        return "NOT INSTALLED"
    return (
        "label " + next(iter(json.loads(vj.read_text())["variants"]))
        if vj.exists()
        else "plain wheel"
    )


def run_pair(
    title: str,
    workload: str,
    tools: Sequence[Tool],
    args_for: dict[str, list[str]],
    *,
    cold: bool,
    samples: int,
    warmup: int,
    work: Path,
    template: Path,
) -> dict[str, object]:
    env = clean_env(work)
    caches = {t.name: work / "cache" / t.name.replace(" ", "_") for t in tools}
    for c in caches.values():
        shutil.rmtree(c, ignore_errors=True)
    pool = _Pool(work / "pool", template)
    times: dict[str, list[float]] = {t.name: [] for t in tools}
    checks: dict[str, str] = {}
    for round_no in range(warmup + samples):
        for tool in tools:
            venv = pool.fresh()
            if cold:
                shutil.rmtree(caches[tool.name], ignore_errors=True)
            run_env = dict(env, **dict(tool.extra_env), **{tool.cache_env: str(caches[tool.name])})
            argv = _argv(tool, venv, args_for[tool.name], cold)
            start = time.perf_counter()
            proc = subprocess.run(argv, env=run_env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(
                    f"{tool.name} failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-2000:]}"
                )
            checks[tool.name] = _check(workload, venv)
            if round_no >= warmup:
                times[tool.name].append(elapsed)
            shutil.rmtree(venv)
    print(
        f"\n-- {title} ({'cold: no cache' if cold else 'warm caches'}; {samples} runs + {warmup} warm-up)"
    )
    for tool in tools:
        t = times[tool.name]
        print(
            f"   {tool.name:<17} median {statistics.median(t):6.3f} s  [{min(t):.3f}-{max(t):.3f}]  "
            f"installed: {checks[tool.name]}"
        )
    ratios: dict[str, float] = {}
    vw = times.get("varwheel")
    if vw:
        for tool in tools:
            if tool.name == "varwheel":
                continue
            per_round = [a / b for a, b in zip(vw, times[tool.name], strict=True)]
            ratios[tool.name] = statistics.median(per_round)
            print(
                f"   varwheel / {tool.name:<17} {ratios[tool.name]:.2f}x (median of per-round ratios)"
            )
    return {
        "title": title,
        "cold": cold,
        "median_s": {k: statistics.median(v) for k, v in times.items()},
        "samples_s": times,
        "ratios": ratios,
        "installed": checks,
    }


def run_noop(
    tools: Sequence[Tool],
    args: list[str],
    *,
    samples: int,
    warmup: int,
    work: Path,
    template: Path,
) -> dict[str, object]:
    """Each tool installs ``args`` once into its own venv (untimed), then the same command is
    timed again and again: nothing to do."""
    env = clean_env(work)
    pool = _Pool(work / "pool-noop", template)
    venvs: dict[str, Path] = {}
    for tool in tools:
        venvs[tool.name] = venv = pool.fresh()
        run_env = dict(
            env,
            **dict(tool.extra_env),
            **{tool.cache_env: str(work / "cache-noop" / tool.name.replace(" ", "_"))},
        )
        subprocess.run(_argv(tool, venv, args, False), env=run_env, capture_output=True, check=True)
    times: dict[str, list[float]] = {t.name: [] for t in tools}
    for round_no in range(warmup + samples):
        for tool in tools:
            venv = venvs[tool.name]
            run_env = dict(
                env,
                **dict(tool.extra_env),
                **{tool.cache_env: str(work / "cache-noop" / tool.name.replace(" ", "_"))},
            )
            argv = _argv(tool, venv, args, False)
            start = time.perf_counter()
            proc = subprocess.run(argv, env=run_env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{tool.name} failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
            if round_no >= warmup:
                times[tool.name].append(elapsed)
    print(
        f"\n-- (noop) 30 wheels already installed, find-links ({samples} runs + {warmup} warm-up)"
    )
    for tool in tools:
        t = times[tool.name]
        print(
            f"   {tool.name:<17} median {statistics.median(t):6.3f} s  [{min(t):.3f}-{max(t):.3f}]"
        )
    ratios: dict[str, float] = {}
    vw = times.get("varwheel")
    for tool in tools:
        if vw and tool.name != "varwheel":
            per_round = [a / b for a, b in zip(vw, times[tool.name], strict=True)]
            ratios[tool.name] = statistics.median(per_round)
            print(
                f"   varwheel / {tool.name:<17} {ratios[tool.name]:.2f}x (median of per-round ratios)"
            )
    return {
        "title": "(noop) 30 wheels already installed, find-links",
        "cold": False,
        "median_s": {k: statistics.median(v) for k, v in times.items()},
        "samples_s": times,
        "ratios": ratios,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--only",
        default="a-files,a-http,b",
        help="comma-separated: a-files, a-http, b, noop (default: a-files,a-http,b)",
    )
    parser.add_argument(
        "--tools", default="varwheel,pip,pip --no-compile,uv", help="comma-separated"
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument(
        "--before-src",
        type=Path,
        help="also time 'varwheel-before': this varwheel's command with PYTHONPATH=DIR (the "
        "src/ of an older checkout), side by side",
    )
    parser.add_argument(
        "--page-max-age",
        type=int,
        default=600,
        help="Cache-Control max-age of the HTTP index pages (default 600, as PyPI; files then "
        "get PyPI's immutable one; 0: no Cache-Control at all)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=REPO / ".benchmarks" / "install.json",
        help="write the results here (default: .benchmarks/install.json, git-ignored)",
    )
    args = parser.parse_args(argv)
    _QuietHandler.page_max_age = args.page_max_age
    wanted = [TOOLS[name.strip()] for name in args.tools.split(",") if name.strip()]
    if args.before_src is not None:
        before = TOOLS["varwheel"]
        wanted.insert(
            1,
            Tool(
                "varwheel-before",
                before.argv,
                before.cold_flags,
                before.cache_env,
                (("PYTHONPATH", str(args.before_src.resolve())),),
            ),
        )
    missing = [
        t.name for t in wanted if not Path(t.argv[0]).exists() and not t.argv[0].startswith("{")
    ]
    if missing:
        raise SystemExit(f"not found: {missing} (run from the project's .venv)")

    import varwheel

    # Like an installed (not editable) varwheel: its modules have bytecode.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(varwheel.__file__).parent)], check=True
    )
    if args.before_src is not None:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(args.before_src)], check=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="varwheel-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    template = template_venv()
    pip_v = subprocess.run(
        [str(template / "bin/python"), "-m", "pip", "--version"], capture_output=True, text=True
    ).stdout.split()[1]
    uv_v = subprocess.run([str(UV), "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"== install benchmark: {os.cpu_count()} cpus, Python {sys.version.split()[0]}, pip {pip_v}, {uv_v}"
    )
    print(f"   work dir {work}; fresh venv per run (copy of {template}, made outside the timing)")
    results: list[dict[str, object]] = []
    measure = functools.partial(
        run_pair, samples=args.samples, warmup=args.warmup, work=work, template=template
    )
    try:
        parts = {p.strip() for p in args.only.split(",")}
        if parts & {"a-files", "a-http", "noop"}:
            wheels = work / "a-wheels"
            names = make_plain_wheels(wheels)
            from varwheel.index.static import write_static_index

            index_root = work / "a-http"
            write_static_index(sorted(wheels.glob("*.whl")), index_root)  # -> simple/, files/
            size = sum(p.stat().st_size for p in wheels.glob("*.whl"))
            print(f"   (a) {len(names)} wheels, {size} bytes")
            fl = ["--no-index", "--find-links", str(wheels), *names]
            args_fl = {t.name: fl for t in wanted}
            for cold in (False, True) if "a-files" in parts else ():
                results.append(
                    measure(
                        "(a) 30 wheels, local find-links",
                        "a",
                        wanted,
                        args_fl,
                        cold=cold,
                    )
                )
            if "noop" in parts:
                results.append(
                    run_noop(
                        wanted,
                        fl,
                        samples=args.samples,
                        warmup=args.warmup,
                        work=work,
                        template=template,
                    )
                )
            with serve(index_root) if "a-http" in parts else contextlib.nullcontext("") as url:
                args_http = {t.name: ["--index-url", url, *names] for t in wanted}
                for cold in (False, True) if url else ():
                    results.append(
                        measure(
                            f"(a) 30 wheels, HTTP index {url}",
                            "a",
                            wanted,
                            args_http,
                            cold=cold,
                        )
                    )
        if "b" in parts:
            fl_dir = work / "b-findlinks"
            make_variant_package(fl_dir)
            print(
                f"   (b) {len(list(fl_dir.iterdir()))} files: "
                + " ".join(sorted(p.name for p in fl_dir.iterdir()))
            )
            base = ["--no-index", "--find-links", str(fl_dir), "tinypkg"]
            args_b = {t.name: base for t in wanted}
            args_b["uv"] = ["--preview-features", "wheel-variants", *base]
            for cold in (False, True):
                results.append(
                    measure(
                        "(b) variant package (6 wheels + variants.json), find-links",
                        "b",
                        wanted,
                        args_b,
                        cold=cold,
                    )
                )
    finally:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\ntargets: varwheel <= 0.5x pip and <= 2x uv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
