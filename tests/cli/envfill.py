"""A real venv filled by varwheel from real wheels in a find-links directory (show, freeze,
check tests)."""

from __future__ import annotations

from pathlib import Path

from helpers.envs import make_venv
from helpers.wheels import build_wheel, variant_json
from resolve.variant_project import CU12, NVIDIA_PROVIDER, write_profile
from varwheel.cli.main import main

VARIANT = variant_json("cu12", CU12, providers=NVIDIA_PROVIDER)


def filled_venv(root: Path) -> tuple[Path, Path]:
    """(venv, find-links dir): ``app`` 1.0 (requires ``lib>=1``; ``lib`` 1.0 is there) and a
    variant wheel ``Fancy-Lib`` (label cu12) installed by path for a described CUDA machine."""
    links = root / "links"
    build_wheel(links, "app", "1.0", requires_dist=["lib>=1", "nothere>=1 ; python_version<'3'"])
    build_wheel(links, "lib", "1.0")
    build_wheel(links, "lib", "2.0")
    fancy = build_wheel(root / "local", "Fancy-Lib", "0.5", label="cu12", variant=VARIANT)
    gpu = write_profile(root / "gpu.toml", cuda=["12.8", "12.0"])
    venv = make_venv(root / "venv")
    code = main(
        ["install", "-q", "--python", str(venv), "--no-index", "-f", str(links), "app", "lib<2"]
    )
    assert code == 0
    assert (
        main(
            [
                "install",
                "-q",
                "--python",
                str(venv),
                "--no-index",
                "--profile",
                str(gpu),
                str(fancy),
            ]
        )
        == 0
    )
    return venv, links
