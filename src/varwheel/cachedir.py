"""The cache root: ``$VARWHEEL_CACHE_DIR``, else the platform user cache dir of ``varwheel``.

Its own module (no dataclasses, nothing else imported) so that the command line can find it
before anything else is loaded (``varwheel.codecache``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

CACHE_ENV = "VARWHEEL_CACHE_DIR"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$VARWHEEL_CACHE_DIR``, else the platform user cache dir of ``varwheel``."""
    env = os.environ if environ is None else environ
    override = env.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("varwheel", appauthor=False))
