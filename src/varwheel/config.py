"""User and project configuration (docs/configuration.md).

Sources, lowest precedence first: the user config (``$VARWHEEL_CONFIG``, else
``<platform user config dir>/varwheel/config.toml``), the project config (``[tool.varwheel]`` in
``./pyproject.toml``), then command-line flags (applied by the CLI). A later source replaces an
earlier one key by key.

Keys that make varwheel run code (``trusted-providers``, ``external-providers``) are honoured in
the user config only: a checked-out project must not be able to run plugins on your machine
(peers.md §5.18). In a project config they are ignored with a warning. Likewise a project's
index keys apply to the packages it installs, never to where trusted plugins come from
(``Config.user_layer`` keeps the user config apart for that).
"""

from __future__ import annotations

import difflib
import math
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from varwheel.errors import InvalidInput, InvalidProperty
from varwheel.providers.trust import parse_pin
from varwheel.spec.properties import NAMESPACE_RE, VariantProperty

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_ENV = "VARWHEEL_CONFIG"
USER_ONLY_KEYS = frozenset({"trusted-providers", "external-providers"})


class InvalidConfig(InvalidInput):
    """A configuration file is malformed; the message names the file, the key and the reason."""


@dataclass(frozen=True)
class Config:
    """Merged configuration; ``None`` means "not set" (the command's default applies)."""

    trusted_providers: tuple[str, ...] = ()
    enable_providers: tuple[str, ...] = ()
    external_providers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    provider_timeout: float | None = None
    strict_providers: bool | None = None
    profile: Path | None = None
    index_url: str | None = None
    extra_index_url: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    no_variants: bool | None = None
    sources: tuple[Path, ...] = ()  # files that were read, lowest precedence first
    warnings: tuple[str, ...] = ()
    # The user config alone (``load_config`` sets it; None: no user config was read). Where
    # trusted plugins are installed from is taken from here, never from a project.
    user_layer: Config | None = field(default=None, compare=False)


_META = frozenset({"sources", "warnings", "user_layer"})
_KEY_TO_FIELD = {f.name.replace("_", "-"): f.name for f in fields(Config) if f.name not in _META}
_KNOWN = frozenset(_KEY_TO_FIELD)


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    override = env.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("varwheel", appauthor=False)) / "config.toml"


def load_config(*, cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the user config, then ``[tool.varwheel]`` of ``cwd/pyproject.toml`` over it."""
    env = os.environ if environ is None else environ
    config = Config()
    user = user_config_path(env)
    if env.get(CONFIG_ENV) and not user.is_file():
        raise InvalidConfig(f"{user}: config file named by ${CONFIG_ENV} does not exist")
    user_layer = None
    if user.is_file():
        user_layer = parse_config(_read_toml(user), source=user, user=True)
        config = merge(config, user_layer)
    project = (cwd or Path.cwd()) / "pyproject.toml"
    if project.is_file():
        tool = _read_toml(project).get("tool", {})
        table = tool.get("varwheel") if isinstance(tool, dict) else None
        if table is not None:
            if not isinstance(table, dict):
                raise InvalidConfig(f"{project}: [tool.varwheel] must be a table")
            # [tool.varwheel.build] is the build matrix (varwheel.build.matrix), not a setting
            settings = {k: v for k, v in table.items() if k != "build"}
            config = merge(config, parse_config(settings, source=project, user=False))
    return replace(config, user_layer=user_layer)


def merge(base: Config, over: Config) -> Config:
    """``over``'s set keys replace ``base``'s; sources and warnings accumulate."""
    changes: dict[str, Any] = {}
    for f in fields(Config):
        if f.name in _META:
            continue
        value = getattr(over, f.name)
        if value is not None and value != () and value != {}:
            changes[f.name] = value
    return replace(
        base,
        **changes,
        sources=base.sources + over.sources,
        warnings=base.warnings + over.warnings,
        user_layer=over.user_layer if over.user_layer is not None else base.user_layer,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text)
    except OSError as exc:
        raise InvalidConfig(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"{path}: invalid TOML: {exc}") from exc
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        from varwheel.safeparse import too_long_number_reason

        reason = too_long_number_reason(text) or str(exc).split(";")[0][:200]
        raise InvalidConfig(f"{path}: invalid TOML: holds {reason}") from None
    except RecursionError:  # tomllib recurses per nesting level of arrays and inline tables
        raise InvalidConfig(f"{path}: invalid TOML: nested too deeply") from None


def parse_config(table: Mapping[str, Any], *, source: Path, user: bool) -> Config:
    """Validate one config table; raises :class:`InvalidConfig` naming ``source`` and the key."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, raw in table.items():
        if key not in _KNOWN:
            close = difflib.get_close_matches(key, sorted(_KNOWN), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidConfig(f"{source}: unknown key {key!r}{hint}")
        if key in USER_ONLY_KEYS and not user:
            warnings.append(
                f"{source}: {key} ignored: a project config cannot make varwheel run code; "
                "put it in your user config or pass it on the command line"
            )
            continue
        values[_KEY_TO_FIELD[key]] = _convert(key, raw, source)
    return Config(**values, sources=(source,), warnings=tuple(warnings))


def _fail(source: Path, key: str, reason: str) -> InvalidConfig:
    return InvalidConfig(f"{source}: {key}: {reason}")


def _str_list(key: str, raw: Any, source: Path) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise _fail(source, key, "must be a list of non-empty strings")
    for item in raw:
        _check_text(key, item, source)
    return tuple(raw)


def _check_text(key: str, text: str, source: Path) -> str:
    """Refuse NUL characters (TOML's ``\\u0000``): no path, URL or argument may hold one."""
    if "\0" in text:
        raise _fail(source, key, "must not contain a NUL character")
    return text


def _convert(key: str, raw: Any, source: Path) -> Any:
    if key == "trusted-providers":
        pins = _str_list(key, raw, source)
        for pin in pins:
            parse_pin(pin, origin=f"{source}: {key}")
        return pins
    if key == "enable-providers":
        names = _str_list(key, raw, source)
        for ns in names:
            if not NAMESPACE_RE.fullmatch(ns):
                raise _fail(source, key, f"invalid namespace {ns!r}")
        return names
    if key == "external-providers":
        if not isinstance(raw, dict):
            raise _fail(source, key, "must be a table of namespace = command")
        commands: dict[str, tuple[str, ...]] = {}
        for ns, cmd in raw.items():
            if not NAMESPACE_RE.fullmatch(ns):
                raise _fail(source, key, f"invalid namespace {ns!r}")
            try:
                argv = shlex.split(cmd) if isinstance(cmd, str) else cmd
            except ValueError as exc:  # an unclosed quote
                raise _fail(source, f"{key}.{ns}", str(exc)) from None
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
                raise _fail(source, f"{key}.{ns}", "must be a command string or a list of strings")
            for arg in argv:
                _check_text(f"{key}.{ns}", arg, source)
            commands[ns] = tuple(argv)
        return commands
    if key == "provider-timeout":
        bad = isinstance(raw, bool) or not isinstance(raw, (int, float))
        if bad or not math.isfinite(raw) or raw <= 0:  # TOML has nan and inf
            raise _fail(source, key, "must be a positive number of seconds")
        return float(raw)
    if key in ("strict-providers", "no-variants"):
        if not isinstance(raw, bool):
            raise _fail(source, key, "must be true or false")
        return raw
    if key == "profile":
        if not isinstance(raw, str) or not raw:
            raise _fail(source, key, "must be a path string")
        path = Path(_check_text(key, raw, source)).expanduser()
        return path if path.is_absolute() else source.parent / path
    if key == "index-url":
        if not isinstance(raw, str) or not raw:
            raise _fail(source, key, "must be a URL string")
        return _check_text(key, raw, source)
    if key in ("prefer", "forbid"):
        from varwheel.spec.ordering import ForbidPattern

        parse = VariantProperty.parse if key == "prefer" else ForbidPattern.parse
        texts = _str_list(key, raw, source)
        for text in texts:
            try:
                parse(text)
            except InvalidProperty as exc:
                raise _fail(source, key, str(exc)) from exc
        return texts
    # extra-index-url, find-links
    return _str_list(key, raw, source)
