"""User and project configuration (docs/configuration.md).

Sources, lowest precedence first: the user config (``$VARWHEEL_CONFIG``, else
``<platform user config dir>/varwheel/config.toml``), the project config (``[tool.varwheel]`` in
``./pyproject.toml``), the ``VARWHEEL_*`` variable of each key (``environment_config``), then
command-line flags (applied by ``settings.py``, which also puts pip's and uv's settings under all
of these). A later source replaces an earlier one key by key.

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
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from varwheel.errors import InvalidInput, InvalidProperty
from varwheel.spec.properties import NAMESPACE_RE, VariantProperty

CONFIG_ENV = "VARWHEEL_CONFIG"
USER_ONLY_KEYS = frozenset({"trusted-providers", "external-providers"})
INDEX_STRATEGIES = ("first-index", "unsafe-best-match")
KEYRING_PROVIDERS = ("disabled", "subprocess")
_INDEX_NAME = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"


class InvalidConfig(InvalidInput):
    """A configuration file is malformed; the message names the file, the key and the reason."""


@dataclass(frozen=True)
class NamedIndex:
    """An ``[[index]]`` entry (uv's ``[[tool.uv.index]]``): searched before ``index-url`` in
    the order given, or with ``explicit`` only for the projects ``index-for`` pins to it."""

    name: str
    url: str
    explicit: bool = False


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
    index_strategy: str | None = None
    no_index: bool | None = None
    index: tuple[NamedIndex, ...] = ()
    index_for: Mapping[str, str] = field(default_factory=dict)  # project -> index name or URL
    keyring_provider: str | None = None
    cert: str | None = None
    client_cert: str | None = None
    timeout: float | None = None
    retries: int | None = None
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
    """Read the user config, then ``[tool.varwheel]`` of ``cwd/pyproject.toml`` over it, then
    the ``VARWHEEL_*`` variables of ``environ`` over both (``environment_config``)."""
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
    from_env = environment_config(env)
    if from_env != Config():
        config = merge(config, from_env)
        # the environment is the user's own: it counts for where trusted plugins come from
        user_layer = merge(user_layer or Config(), from_env)
    return replace(config, user_layer=user_layer)


_LIST_SEPARATORS = {"prefer": ",", "forbid": ",", "external-providers": ";"}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def env_var(key: str) -> str:
    """The variable for a config key: ``extra-index-url`` -> ``VARWHEEL_EXTRA_INDEX_URL``."""
    return "VARWHEEL_" + key.upper().replace("-", "_")


def environment_config(environ: Mapping[str, str] | None = None) -> Config:
    """A ``VARWHEEL_*`` variable for every key (docs/configuration.md#environment-variables).

    Lists are separated by whitespace (pip's rule for ``PIP_*`` lists), except ``prefer`` and
    ``forbid`` (commas: a property holds spaces) and ``external-providers`` (``ns=cmd; ns=cmd``);
    ``index`` is ``[NAME=]URL ...`` (uv's ``UV_INDEX``) and ``index-for`` ``PROJECT=INDEX ...``;
    booleans are 1/0, true/false, yes/no, on/off. A bad value is one error naming the variable.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for key in sorted(_KNOWN):
        var = env_var(key)
        text = env.get(var)
        if text is None or (not text.strip() and key not in _BOOL_KEYS):
            continue
        source = Path("$" + var)
        raw = _env_value(key, text, source)
        values[_KEY_TO_FIELD[key]] = _convert(key, raw, source)
    return Config(**values)


_BOOL_KEYS = frozenset({"strict-providers", "no-variants", "no-index"})


def _env_value(key: str, text: str, source: Path) -> Any:
    """A variable's text as the value the TOML key would hold."""
    if key in _BOOL_KEYS:
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise _fail(source, key, f"expected 1/0, true/false, yes/no or on/off, got {text!r}")
        return word in _TRUE
    if key in ("provider-timeout", "timeout"):
        try:
            return float(text)
        except ValueError:
            raise _fail(source, key, f"not a number: {text!r}") from None
    if key == "retries":
        try:
            return int(text)
        except ValueError:
            raise _fail(source, key, f"not a whole number: {text!r}") from None
    if key in ("prefer", "forbid"):
        return [item.strip() for item in text.split(",") if item.strip()]
    if key == "external-providers":
        commands: dict[str, str] = {}
        for item in text.split(";"):
            ns, sep, cmd = item.partition("=")
            if item.strip() and not sep:
                raise _fail(source, key, f"expected NAMESPACE=COMMAND, got {item.strip()!r}")
            if item.strip():
                commands[ns.strip()] = cmd
        return commands
    if key == "index":
        return index_entries(text.split(), str(source))
    if key == "index-for":
        return dict(index_pin(item, str(source)) for item in text.split())
    if key in ("extra-index-url", "find-links", "trusted-providers", "enable-providers"):
        return text.split()
    return text.strip()


def index_entry(text: str, origin: str) -> dict[str, Any]:
    """``NAME=URL`` or ``URL`` (``--index``, ``VARWHEEL_INDEX``, uv's ``UV_INDEX``) as the
    table an ``[[index]]`` entry holds; an unnamed index is named after its host."""
    name, sep, url = text.partition("=")
    if not sep or "://" in name or name.startswith(("file:", "/", ".")):
        url, name = text, ""
    url = url.strip()
    if not url:
        raise InvalidConfig(f"{origin}: {text!r}: expected [NAME=]URL")
    if not name:
        from urllib.parse import urlsplit

        try:
            name = urlsplit(url).hostname or Path(url).name or "index"
        except ValueError as exc:  # an unclosed [ of an IPv6 host; never echo a password
            shown = re.sub(r"//[^/]*@", "//***@", url)
            raise InvalidConfig(f"{origin}: {shown}: not a valid URL ({exc})") from None
    return {"name": name.strip(), "url": url}


def index_entries(texts: list[str] | tuple[str, ...], origin: str) -> list[dict[str, Any]]:
    """Several ``[NAME=]URL`` texts; unnamed indexes on one host get ``host``, ``host-2``, ..."""
    entries: list[dict[str, Any]] = []
    for text in texts:
        entry = index_entry(text, origin)
        named = "=" in text and entry["url"] != text
        base, n = entry["name"], 1
        while not named and any(e["name"] == entry["name"] for e in entries):
            n += 1
            entry["name"] = f"{base}-{n}"
        entries.append(entry)
    return entries


def index_pin(text: str, origin: str) -> tuple[str, str]:
    """``PROJECT=INDEX`` (``--index-for``, ``VARWHEEL_INDEX_FOR``); INDEX: a name or a URL."""
    project, sep, index = text.partition("=")
    if not sep or not project.strip() or not index.strip():
        raise InvalidConfig(
            f"{origin}: {text!r}: expected PROJECT=INDEX, e.g. torch=pytorch (an index name) "
            "or torch=https://download.pytorch.org/whl/cu128"
        )
    return project.strip(), index.strip()


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
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

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
        from varwheel.providers.trust import parse_pin  # only a config that names pins

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
    if key in _BOOL_KEYS:
        if not isinstance(raw, bool):
            raise _fail(source, key, "must be true or false")
        return raw
    if key == "profile":
        if not isinstance(raw, str) or not raw:
            raise _fail(source, key, "must be a path string")
        path = Path(_check_text(key, raw, source)).expanduser()
        return path if path.is_absolute() else source.parent / path
    if key in ("index-url", "cert", "client-cert"):
        what = "a URL string" if key == "index-url" else "a path string"
        if not isinstance(raw, str) or not raw:
            raise _fail(source, key, f"must be {what}")
        text = _check_text(key, raw, source)
        if key == "index-url":
            return text
        path = Path(text).expanduser()
        return str(path if path.is_absolute() else source.parent / path)
    if key in ("index-strategy", "keyring-provider"):
        choices = INDEX_STRATEGIES if key == "index-strategy" else KEYRING_PROVIDERS
        if raw not in choices:
            raise _fail(source, key, f"must be one of {', '.join(choices)}, got {raw!r}")
        return raw
    if key == "timeout":
        bad = isinstance(raw, bool) or not isinstance(raw, (int, float))
        if bad or not math.isfinite(raw) or raw <= 0:
            raise _fail(source, key, "must be a positive number of seconds")
        return float(raw)
    if key == "retries":
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 100:
            raise _fail(source, key, "must be a whole number from 0 to 100")
        return raw
    if key == "index":
        return _named_indexes(raw, source)
    if key == "index-for":
        if not isinstance(raw, dict):
            raise _fail(source, key, 'must be a table of project = "index name or URL"')
        pins: dict[str, str] = {}
        for project, target in raw.items():
            if isinstance(target, dict) and set(target) == {"index"}:  # uv's { index = "…" }
                target = target["index"]
            if not isinstance(target, str) or not target:
                raise _fail(source, f"{key}.{project}", "must be an index name or URL string")
            pins[project] = _check_text(f"{key}.{project}", target, source)
        return pins
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


def _named_indexes(raw: Any, source: Path) -> tuple[NamedIndex, ...]:
    """``[[index]]`` entries: ``name``, ``url``, optional ``explicit``; names unique."""
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise _fail(source, "index", "must be an array of tables ([[index]] name = …, url = …)")
    out: list[NamedIndex] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _fail(source, "index", "each [[index]] must be a table with name and url")
        unknown = sorted(set(entry) - {"name", "url", "explicit"})
        if unknown:
            raise _fail(source, "index", f"unknown key {unknown[0]!r} (known: name, url, explicit)")
        name, url, explicit = entry.get("name"), entry.get("url"), entry.get("explicit", False)
        if not isinstance(name, str) or not re.fullmatch(
            _INDEX_NAME, name, re.IGNORECASE | re.ASCII
        ):
            raise _fail(source, "index", f"name {name!r}: letters, digits, '.', '_' and '-' only")
        if not isinstance(url, str) or not url:
            raise _fail(source, f"index {name}", "needs a url string")
        if not isinstance(explicit, bool):
            raise _fail(source, f"index {name}", "explicit must be true or false")
        if any(i.name == name for i in out):
            raise _fail(source, "index", f"the name {name!r} is used twice")
        out.append(NamedIndex(name, _check_text(f"index {name}", url, source), explicit))
    return tuple(out)
