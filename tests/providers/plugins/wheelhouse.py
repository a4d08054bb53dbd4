"""Builds the test plugins in this folder into real wheels (helpers.wheels.build_wheel).

``vw-test-plugins 1.0.0`` holds every behaviour module (one venv serves them all, as a real
multi-namespace session would); ``vw-canary-plugin 1.0.0`` is kept apart for the trust test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers.wheels import build_wheel
from varwheel.providers.runner import PluginSource

HERE = Path(__file__).resolve().parent
TEST_PLUGINS = "vw-test-plugins==1.0.0"
CANARY = "vw-canary-plugin==1.0.0"
BEHAVIOURS = ("vw_hang", "vw_crash", "vw_exit", "vw_noisy", "vw_badtypes", "vw_wrongns")
MODULES = (*BEHAVIOURS, "vw_notsubset", "vw_legacy")


def _source(module: str) -> str:
    return (HERE / f"{module}.py").read_text()


def build_wheelhouse(dest: Path) -> Path:
    """Write both plugin wheels into ``dest`` (idempotent) and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    files = {f"{m}.py": _source(m) for m in MODULES} | {"_configs.py": _source("_configs")}
    build_wheel(dest, "vw-test-plugins", "1.0.0", files=files)
    build_wheel(
        dest,
        "vw-canary-plugin",
        "1.0.0",
        files={"vw_canary.py": _source("vw_canary")},
    )
    return dest


@dataclass(frozen=True)
class PluginPaths:
    """Where the test plugin wheels are, and the plugin cache shared by the session."""

    wheelhouse: Path
    fixture_wheels: Path  # the real toy plugin wheel from ../shared
    cache_root: Path

    def source(self) -> PluginSource:
        return PluginSource(
            no_index=True, find_links=(str(self.wheelhouse), str(self.fixture_wheels))
        )


def shared_paths(base: Path, fixture_wheels: Path) -> PluginPaths:
    """Wheels and plugin cache under the session's ``base`` temp dir (built once per session)."""
    wheelhouse = base / "vw-wheelhouse"
    if not (wheelhouse / ".complete").exists():
        build_wheelhouse(wheelhouse)
        (wheelhouse / ".complete").write_text("")
    return PluginPaths(wheelhouse, fixture_wheels, base / "vw-cache")
