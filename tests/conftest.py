"""Shared fixtures: the read-only material in ../shared beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No wall-clock deadlines on a shared 2-core machine; in CI the examples are derived from each
# test's name (derandomize), so a run is reproducible and never fails by the luck of the draw.
settings.register_profile(
    "varwheel",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("CI", "").lower() in {"1", "true", "yes"},
    print_blob=True,
)
settings.load_profile("varwheel")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VARWHEEL_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = SHARED / "fixtures"
REAL_INDEX = FIXTURES / "wheelnext-variants-index-v0.0.3"
VARIANTLIB_OUTPUTS = FIXTURES / "variantlib-0.2.2-outputs"


# pip's and uv's settings are varwheel's lowest configuration layer (peer_settings.py). The
# machine's own (pip.conf, PIP_FIND_LINKS, UV_INDEX_URL, ...) must not decide what a test's
# varwheel sees; tests of that layer set the variables they mean.
_KEEP_PIP = frozenset({"PIP_DISABLE_PIP_VERSION_CHECK"})


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("varwheel-cache")


@pytest.fixture(autouse=True)
def _without_machine_pip_uv_settings(
    monkeypatch: pytest.MonkeyPatch, _session_cache_dir: Path
) -> None:
    # varwheel's caches go to one directory per test session, never the user's ~/.cache
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(_session_cache_dir))
    for key in list(os.environ):
        if (key.startswith("PIP_") and key not in _KEEP_PIP) or key.startswith("UV_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; set VARWHEEL_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


@pytest.fixture(scope="session")
def real_index_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "wheelnext-variants-index-v0.0.3"


@pytest.fixture(scope="session")
def variantlib_outputs_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "variantlib-0.2.2-outputs"
