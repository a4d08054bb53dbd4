"""Helpers for CLI tests: a bare target venv for install-shaped runs, and stderr without the
one line naming the environment (asserted by tests/cli/test_environment_safety.py)."""

from __future__ import annotations

import pytest

ENVIRONMENT_LINE_PREFIXES = ("Using environment ", "Explaining for ")


def without_environment_line(err: str) -> str:
    """``err`` minus the "Using environment ..." / "Explaining for ..." line every install,
    uninstall, list and explain prints first, so that tests about errors count error lines."""
    return "".join(
        line
        for line in err.splitlines(keepends=True)
        if not line.startswith(ENVIRONMENT_LINE_PREFIXES)
    )


def use_target_venv(monkeypatch: pytest.MonkeyPatch, venv: object) -> None:
    """Activate ``venv`` as ``$VIRTUAL_ENV`` does: install and dry runs need a target."""
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
