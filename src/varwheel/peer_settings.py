"""pip's and uv's index settings, read as varwheel's lowest layer (docs/configuration.md).

They are fallbacks: ``Settings.load`` uses the index locations found here only when none of
varwheel's own sources (flags, ``-r`` files, ``VARWHEEL_*``, project and user config) names an
index, find-links location or ``no-index``, and each other key (cert, timeout, ...) only when
varwheel's sources leave it unset. uv's variables win over pip's (a uv user who also has an old
pip.conf means uv's); within pip, ``PIP_*`` variables win over pip.conf files, as in pip.

pip.conf files, lowest first (pip's own order, POSIX names): ``$XDG_CONFIG_DIRS/pip/pip.conf``
(default ``/etc/xdg``) and ``/etc/pip.conf``; ``~/.pip/pip.conf`` and
``$XDG_CONFIG_HOME/pip/pip.conf`` (not read when ``$PIP_CONFIG_FILE`` names an existing file);
``$VIRTUAL_ENV/pip.conf``; ``$PIP_CONFIG_FILE``. ``PIP_CONFIG_FILE=/dev/null`` reads none. In each,
``[install]`` overrides ``[global]``. A file that cannot be read is skipped with a warning: it is
pip's configuration, and varwheel must not refuse to run over it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PeerSettings", "peer_settings", "pip_config_files"]

_MAX_FILE = 1024 * 1024
# pip option -> varwheel key; both spellings of pip's timeout
_PIP_KEYS = {
    "index-url": "index-url",
    "extra-index-url": "extra-index-url",
    "find-links": "find-links",
    "no-index": "no-index",
    "cert": "cert",
    "client-cert": "client-cert",
    "default-timeout": "timeout",
    "timeout": "timeout",
    "retries": "retries",
    "keyring-provider": "keyring-provider",
}
INDEX_KEYS = frozenset({"index-url", "extra-index-url", "find-links", "no-index", "index"})


@dataclass(frozen=True)
class PeerSettings:
    """What pip's and uv's settings say, as varwheel config keys (``values``), where each
    came from (``origin``: key -> "PIP_INDEX_URL", "/etc/pip.conf", ...) and problems met."""

    values: Mapping[str, Any] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files that exist, lowest precedence first."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).is_file()):
        config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    if environ.get("VIRTUAL_ENV"):
        files.append(Path(environ["VIRTUAL_ENV"]) / "pip.conf")
    if env_file:
        files.append(Path(env_file).expanduser())
    return [f for f in dict.fromkeys(files) if f.is_file()]


def _read_pip_conf(path: Path, values: dict[str, Any], origin: dict[str, str]) -> str | None:
    import configparser  # only where a pip configuration file exists

    from varwheel.fsutil import read_regular

    parser = configparser.RawConfigParser()
    try:
        text = read_regular(path, limit=_MAX_FILE).decode("utf-8-sig")
        parser.read_string(text, source=str(path))
    except (OSError, ValueError, UnicodeDecodeError, configparser.Error) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{path}: ignored, cannot be read as a pip configuration: {first}"
    for section in ("global", "install"):
        if not parser.has_section(section):
            continue
        for option, text in parser.items(section):
            key = _PIP_KEYS.get(option.replace("_", "-"))
            if key is not None:
                values[key] = text
                origin[key] = f"{path} [{section}] {option}"
    return None


def _pip(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    warnings: list[str] = []
    for path in pip_config_files(environ):
        problem = _read_pip_conf(path, values, origin)
        if problem:
            warnings.append(problem)
    for option, key in _PIP_KEYS.items():
        var = "PIP_" + option.upper().replace("-", "_")
        if environ.get(var):
            values[key] = environ[var]
            origin[key] = var
    return values, origin, warnings


def _uv(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    names = (
        # lowest first: UV_INDEX_URL is the deprecated spelling of UV_DEFAULT_INDEX
        ("UV_INDEX_URL", "index-url"),
        ("UV_DEFAULT_INDEX", "index-url"),
        ("UV_EXTRA_INDEX_URL", "extra-index-url"),
        ("UV_INDEX", "index"),
        ("UV_FIND_LINKS", "find-links"),
        ("UV_NO_INDEX", "no-index"),
        ("UV_INDEX_STRATEGY", "index-strategy"),
        ("UV_KEYRING_PROVIDER", "keyring-provider"),
        ("UV_HTTP_TIMEOUT", "timeout"),
        ("UV_HTTP_RETRIES", "retries"),
    )
    for var, key in names:
        if environ.get(var):
            values[key] = environ[var]
            origin[key] = var
    return values, origin


def peer_settings(environ: Mapping[str, str] | None = None) -> PeerSettings:
    """pip's and uv's settings as raw texts per varwheel key (``Settings.load`` converts)."""
    env = os.environ if environ is None else environ
    pip_values, pip_origin, warnings = _pip(env)
    uv_values, uv_origin = _uv(env)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    # index locations: one tool's whole set, never a mix of uv's index and pip's extras
    index_from = (uv_values, uv_origin) if INDEX_KEYS & set(uv_values) else (pip_values, pip_origin)
    for key in INDEX_KEYS & set(index_from[0]):
        values[key] = index_from[0][key]
        origin[key] = index_from[1][key]
    for key in set(pip_values) | set(uv_values):
        if key in INDEX_KEYS:
            continue
        source = (uv_values, uv_origin) if key in uv_values else (pip_values, pip_origin)
        values[key] = source[0][key]
        origin[key] = source[1][key]
    return PeerSettings(values, origin, tuple(warnings))
