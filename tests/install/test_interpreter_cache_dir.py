"""The interpreter-facts cache lives under the one cache root (``cache clear`` covers it)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_interpreter_facts_live_under_the_cache_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from varwheel.install import environment

    monkeypatch.setenv("VARWHEEL_CACHE_DIR", "~/vw-cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert environment._cache_dir() == tmp_path / "vw-cache" / "interpreters"
