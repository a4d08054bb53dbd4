"""`make demo`: varwheel on real data, with nothing but this checkout and loopback HTTP.

1. The format core on the real PyTorch 2.9.0 variant metadata (PEP 817 v0.0.3, which variantlib 0.2.2
   and uv 0.13.9 refuse): inspect it, compute a default label.
2. What this machine supports (`varwheel detect`), then three described machines (FORCE variables ->
   a target profile) and which torch 2.9.0 wheel each would get, and why (`varwheel explain`), from
   the embedded index served on 127.0.0.1 (links point to remote hosts: resolution only, no download).
3. A locally published variant package (x86-64 level variants with different dependencies, a null
   variant and a plain wheel) installed into a fresh venv: the variant `explain` says is the one that
   `install` picks, and `list` shows it.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

# Until `varwheel build` lands (build & publish issue), the demo writes its wheels with the tests' wheel
# writer and serves them with the tests' loopback server.
from helpers.http_server import serve_directory  # noqa: E402
from helpers.wheels import build_wheel, variant_json  # noqa: E402
from varwheel.index.static import write_static_index  # noqa: E402

VARWHEEL = [sys.executable, "-m", "varwheel"]
TORCH_TARGET = ["--python-version", "3.12", "--platform", "manylinux_2_28_x86_64"]

MACHINES = [
    (
        "an NVIDIA H100 (sm 9.0) with a CUDA 12.8 driver",
        {
            "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.8",
            "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "9.0",
        },
    ),
    (
        "an NVIDIA RTX 5090 (sm 12.0) with a CUDA 13.0 driver",
        {
            "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "13.0",
            "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "12.0",
        },
    ),
    (
        "an old NVIDIA P100 (sm 6.0) with a CUDA 12.6 driver",
        {
            "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.6",
            "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "6.0",
        },
    ),
]


def banner(text: str) -> None:
    print(f"\n\033[1m=== {text}\033[0m" if sys.stdout.isatty() else f"\n=== {text}", flush=True)


def run(
    args: list[str], *, env: dict[str, str] | None = None, check: bool = True, show: bool = True
) -> str:
    shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    print(f"$ {shown + ' ' if shown else ''}varwheel {shlex.join(args)}", flush=True)
    full_env = {**os.environ, "VARWHEEL_CACHE_DIR": CACHE, **(env or {})}
    proc = subprocess.run(
        [*VARWHEEL, *args], env=full_env, text=True, capture_output=True, cwd=REPO
    )
    if show:
        sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    if check and proc.returncode != 0:
        raise SystemExit(f"demo step failed with exit code {proc.returncode}")
    return proc.stdout


def make_local_package(dist: Path) -> None:
    """fastmath 1.0: x86-64 v2/v3/v4 variants, a null variant and a plain wheel; v4 pulls a kernel."""
    providers = {
        "x86_64": {
            "requires": ["provider-variant-x86-64>=0.0.3"],
            "plugin-api": "provider_variant_x86_64.plugin:X8664Plugin",
        }
    }
    requires = [
        'fastmath-kernels-avx512==1.0; "x86_64 :: level :: v4" in variant_properties',
        'fastmath-kernels-generic==1.0; "x86_64" not in variant_namespaces',
    ]
    for level in ("v2", "v3", "v4"):
        label = f"x86_64_{level}"
        doc = variant_json(label, [f"x86_64 :: level :: {level}"], providers=providers)
        build_wheel(dist, "fastmath", "1.0", variant=doc, requires_dist=requires)
    null = variant_json("null", [], providers=providers)
    build_wheel(dist, "fastmath", "1.0", variant=null, requires_dist=requires)
    build_wheel(dist, "fastmath", "1.0", requires_dist=requires)
    build_wheel(dist, "fastmath-kernels-avx512", "1.0")
    build_wheel(dist, "fastmath-kernels-generic", "1.0")


def check_same_choice(explained: object, listed: object) -> None:
    """The variant `install` put into the venv is the one `explain` chose."""
    chosen = _find_key(explained, "chosen")
    label = _find_key(chosen, "label") if chosen is not None else None
    installed = {
        item["name"].lower(): item.get("variant_label") or item.get("label")
        for item in (listed if isinstance(listed, list) else listed.get("distributions", []))  # type: ignore[union-attr]
    }
    print(
        f"\nexplain chose label {label!r}; the venv has fastmath variant {installed.get('fastmath')!r}"
    )
    if label is None or installed.get("fastmath") != label:
        raise SystemExit("demo check failed: install did not pick the variant explain chose")


def _find_key(doc: object, key: str) -> object:
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        for value in doc.values():
            found = _find_key(value, key)
            if found is not None:
                return found
    if isinstance(doc, list):
        for value in doc:
            found = _find_key(value, key)
            if found is not None:
                return found
    return None


def main() -> int:
    banner("1. The format core on the real PyTorch 2.9.0 variant metadata (schema v0.0.3)")
    run(["inspect", "demo/data/simple/torch/torch-2.9.0-variants.json"])
    run(["label", "-p", "x86_64 :: level :: v3", "-p", "x86_64 :: aes :: on"])

    banner("2. This machine, as the native providers see it")
    run(["detect"])

    with tempfile.TemporaryDirectory(prefix="varwheel-demo-") as tmp_name:
        tmp = Path(tmp_name)
        with serve_directory(HERE / "data") as server:
            index = f"{server.url}simple/"
            banner(
                "2b. Which torch 2.9.0 wheel each machine gets (CPython 3.12, manylinux_2_28_x86_64)"
            )
            for description, env in MACHINES:
                print(f"\n--- {description}")
                profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}.toml"
                run(
                    ["detect", "--namespace", "nvidia", "--output", str(profile)],
                    env=env,
                    show=False,
                )
                print(f"(profile {profile.name} written: the machine described, for use anywhere)")
                run(
                    [
                        "explain",
                        "torch==2.9.0",
                        "--index-url",
                        index,
                        "--profile",
                        str(profile),
                        *TORCH_TARGET,
                    ]
                )
            print("\n--- this machine (no GPU): the providers run live")
            run(["explain", "torch==2.9.0", "--index-url", index, *TORCH_TARGET])

        banner("3. A locally published variant package, installed into a fresh venv")
        dist = tmp / "dist"
        make_local_package(dist)
        write_static_index(sorted(dist.iterdir()), tmp / "index")
        target = tmp / "venv"
        venv.EnvBuilder(with_pip=False).create(target)
        with serve_directory(tmp / "index") as server:
            index = f"{server.url}simple/"
            run(["explain", "fastmath", "--index-url", index, "--python", str(target), "--deps"])
            explained = json.loads(
                run(
                    [
                        "explain",
                        "fastmath",
                        "--index-url",
                        index,
                        "--python",
                        str(target),
                        "--json",
                    ],
                    show=False,
                )
            )
            run(["install", "fastmath", "--index-url", index, "--python", str(target)])
        run(["list", "--python", str(target)])
        listed = json.loads(run(["list", "--python", str(target), "--json"], show=False))
        check_same_choice(explained, listed)
    banner("Done: see README.md for what each command can do")
    return 0


CACHE = tempfile.mkdtemp(prefix="varwheel-demo-cache-")  # the demo leaves the user's cache alone
atexit.register(shutil.rmtree, CACHE, True)

if __name__ == "__main__":
    raise SystemExit(main())
