"""Moved to :mod:`varwheel.install.verify` (verifying a download is part of installing);
kept for callers not yet updated (``lock/plan.py``, ``tests/test_wheelzip.py``)."""

from __future__ import annotations

from varwheel.install.verify import (  # noqa: F401
    ChosenWheel,
    _read,
    check_metadata,
    check_variant,
    verify_download,
)

__all__ = ["check_metadata", "check_variant", "verify_download"]
