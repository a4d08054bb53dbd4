"""What the published provider plugins answered (``reference-plugin-outputs/plugins.json``): the
differential target of the native providers' tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _plugins(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())["providers"]


def plugin_reference(fixtures_dir: Path, namespace: str) -> dict[str, Any]:
    """``{"all": [...], "cases": [{"env", "supported"}, ...]}`` for one namespace."""
    return _plugins(fixtures_dir / "reference-plugin-outputs" / "plugins.json")[namespace]
