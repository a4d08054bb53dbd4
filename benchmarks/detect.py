"""Provider detection cost: varwheel's native providers (cold and cached), ``varwheel detect`` as a
whole process, and one trivial third-party plugin queried by varwheel vs variantlib 0.2.2.

Every sample is a fresh process (so nothing is warm in memory); medians of ``--samples`` runs.
Targets: native in-process cold <= 50 ms, cached <= 5 ms. Run: ``python benchmarks/detect.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VARWHEEL_SHARED", REPO.parent / "shared")).resolve()
OUTPUTS = SHARED / "fixtures" / "variantlib-0.2.2-outputs"
TOY_PIN = "toy-variant-provider==0.1.0"

NATIVE = """
import time, json, sys
t0 = time.perf_counter()
from varwheel.providers.detect import ProviderOptions, ProviderSession
import varwheel.providers.registry  # module imports are start-up cost, reported separately
t1 = time.perf_counter()
results = ProviderSession(ProviderOptions(cache={cache})).detect_native()
t2 = time.perf_counter()
assert all(r.cached == {expect_cached} for r in results), [r.cached for r in results]
print(json.dumps({{"call": (t2 - t1) * 1e3, "with_imports": (t2 - t0) * 1e3}}))
"""

VARWHEEL_TOY = """
import time, json
t0 = time.perf_counter()
from packaging.markers import default_environment
from varwheel.providers.detect import ProviderOptions, ProviderSession
from varwheel.providers.runner import PluginSource
from varwheel.spec.model import ProviderInfo, VariantMetadata
md = VariantMetadata(namespace_priorities=("toy",), providers={{"toy": ProviderInfo(
    "toy", requires=("toy-variant-provider >=0.1",), plugin_api="toy_variant_provider")}})
opts = ProviderOptions(trusted=({pin!r},), cache=False,
    plugin_source=PluginSource(no_index=True, find_links=({wheels!r},)))
t1 = time.perf_counter()
sp = ProviderSession(opts).detect(md, target_env=default_environment())
t2 = time.perf_counter()
assert sp.properties["toy"]["level"][0] == "v3", sp
print(json.dumps({{"call": (t2 - t1) * 1e3, "with_imports": (t2 - t0) * 1e3}}))
"""

VARIANTLIB_TOY = """
import time, json, logging
logging.disable(logging.CRITICAL)
t0 = time.perf_counter()
from variantlib.api import get_variants_by_priority
data = json.load(open({variants!r}))
t1 = time.perf_counter()
res = get_variants_by_priority(variants_json=data, venv_python_executable={python!r})
t2 = time.perf_counter()
assert res[0].label == "89de6e32", [v.label for v in res]
print(json.dumps({{"call": (t2 - t1) * 1e3, "with_imports": (t2 - t0) * 1e3}}))
"""

# A provider answer with 200k values (supported = all, reversed): validation must be linear
# (it was quadratic: 80k values took 46 s through a whole detect).
VALIDATE_BIG = """
import time, json
from varwheel.providers.base import (
    configs_to_properties, feature_configs_from_json, validate_supported)
values = [f"v{{i}}" for i in range(200_000)]
t0 = time.perf_counter()
a = feature_configs_from_json([{{"name": "big", "values": values}}], namespace="x")
s = feature_configs_from_json([{{"name": "big", "values": values[::-1]}}], namespace="x")
validate_supported("x", a, s)
assert len(configs_to_properties(s)["big"]) == 200_000
t1 = time.perf_counter()
print(json.dumps({{"call": (t1 - t0) * 1e3, "with_imports": (t1 - t0) * 1e3}}))
"""


def sample_code(code: str, env: Mapping[str, str], n: int) -> dict[str, list[float]]:
    """``n`` fresh processes after one warm-up run (which writes the bytecode cache)."""
    out: dict[str, list[float]] = {"call": [], "with_imports": []}
    for i in range(n + 1):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=dict(env), check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"benchmark sample failed:\n{done.stderr}")
        doc = json.loads(done.stdout.strip().splitlines()[-1])
        if i == 0:
            continue
        for key in out:
            out[key].append(doc[key])
    return out


def sample_process(argv: list[str], env: Mapping[str, str], n: int) -> list[float]:
    times: list[float] = []
    for _ in range(n + 1):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=dict(env), check=True)
        times.append((time.perf_counter() - start) * 1e3)
    return times[1:]  # the first run is a warm-up


def row(name: str, times: list[float], target: str = "") -> str:
    med = statistics.median(times)
    return f"| {name} | {med:8.1f} | {min(times):8.1f} | {max(times):8.1f} | {target} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=11)
    args = parser.parse_args()
    n = args.samples
    with tempfile.TemporaryDirectory(prefix="varwheel-bench-") as tmp:
        env = dict(os.environ, VARWHEEL_CACHE_DIR=str(Path(tmp, "cache")))
        env["VARWHEEL_CONFIG"] = str(Path(tmp, "config.toml"))
        # Real installs have bytecode: let the samples write it (outside the tree) and reuse it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pycache"))
        Path(env["VARWHEEL_CONFIG"]).write_text("")

        from varwheel.providers.runner import PluginSource, ensure_plugin_env, venv_python
        from varwheel.providers.trust import parse_pin

        wheels = str(OUTPUTS / "wheels")
        toy_env = ensure_plugin_env(
            [parse_pin(TOY_PIN)],
            python=sys.executable,
            source=PluginSource(no_index=True, find_links=(wheels,)),
            cache_root=Path(env["VARWHEEL_CACHE_DIR"]),
        )
        rows = []
        base = sample_process([sys.executable, "-c", "pass"], env, n)
        rows.append(row("python -c pass (interpreter start, for reference)", base))
        cold = sample_code(NATIVE.format(cache=False, expect_cached=False), env, n)
        rows.append(
            row("native providers, all 8, in-process cold (cache off)", cold["call"], "<= 50")
        )
        rows.append(row("  same, including importing varwheel.providers", cold["with_imports"]))
        fill = NATIVE.format(cache=True, expect_cached=False)
        sample_code(fill, env, 0)  # one run (the warm-up) fills the on-disk cache
        warm = sample_code(NATIVE.format(cache=True, expect_cached=True), env, n)
        rows.append(row("native providers, all 8, in-process cached (disk)", warm["call"], "<= 5"))
        cli = [sys.executable, "-m", "varwheel", "detect", "--json"]
        rows.append(
            row("`varwheel detect --json` whole process, cached", sample_process(cli, env, n))
        )
        rows.append(
            row(
                "`varwheel detect --json --no-cache` whole process",
                sample_process([*cli, "--no-cache"], env, n),
            )
        )
        ours = sample_code(VARWHEEL_TOY.format(pin=TOY_PIN, wheels=wheels), env, n)
        rows.append(row("varwheel: trusted toy plugin, 1 query (venv ready)", ours["call"]))
        theirs = sample_code(
            VARIANTLIB_TOY.format(
                variants=str(OUTPUTS / "tinypkg-1.0.0-variants.json"),
                python=str(venv_python(toy_env)),
            ),
            env,
            n,
        )
        rows.append(row("variantlib 0.2.2: toy plugin, get_variants_by_priority", theirs["call"]))
        big = sample_code(VALIDATE_BIG.format(), env, n)
        rows.append(row("validate a 200k-value provider answer (parse + subset)", big["call"]))
        print(f"{n} samples each, one fresh process per sample; milliseconds")
        print("| case | median | min | max | target |")
        print("|---|---:|---:|---:|---|")
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
