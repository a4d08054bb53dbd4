"""``Settings``: the one merge of user config, project config (``[tool.varwheel]``), environment
variables, requirements-file options and command-line flags, as an immutable value.

Precedence (docs/configuration.md#precedence), lowest first: built-in defaults, pip's and uv's
settings (``peer_settings.py``: pip.conf, ``PIP_*``, ``UV_*``; index locations only when no
varwheel source names one), the user config (``$VARWHEEL_CONFIG`` or the platform config dir),
the project's ``[tool.varwheel]``, the ``VARWHEEL_*`` variables, options of the ``-r``
requirements files, flags. For scalar keys the highest source
that sets the key wins; the permission lists (trusted, enabled and external providers) add up
(config then flags); the index lists (``extra-index-url``, ``find-links``) from flags and ``-r``
files replace the configured lists. Keys that make varwheel run code are honoured from the user
config only (``config.py``), and trusted plugins are installed from the user's own index options
(flags, ``-r`` files, user config; never a project's).

Everything is validated here, once (a bad ``--prefer``, pin or namespace is one
``InvalidInput`` line); the layers below take the finished values.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from varwheel.errors import InvalidInput
from varwheel.target import CrossTarget

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from varwheel.config import Config, NamedIndex
    from varwheel.index.client import IndexClient
    from varwheel.providers.detect import ProviderOptions
    from varwheel.providers.plugin_source import PluginSource
    from varwheel.resolve.options import Constraint, ResolveOptions
    from varwheel.resolve.requirements_file import RequirementsFile
    from varwheel.spec.selection import Preferences

__all__ = ["Flags", "Settings"]

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
DEFAULT_PROVIDER_TIMEOUT = 10.0
DEFAULT_HTTP_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
INDEX_STRATEGIES = ("first-index", "unsafe-best-match")


@dataclass(frozen=True)
class Flags:
    """What the command line (or a Python caller) asked for; ``None``/``()``/False: not given.
    Texts are validated by :meth:`Settings.load`."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    index_strategy: str | None = None
    pre: bool = False
    no_build: bool = False
    no_build_isolation: bool = False
    prefer: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    no_variants: bool = False
    variants: tuple[str, ...] = ()  # NAME=LABEL
    force_variant: bool = False
    no_deps: bool = False
    upgrade: bool = False
    force_reinstall: bool = False
    compile_bytecode: bool = False
    python: str | None = None
    cross: CrossTarget = field(default_factory=CrossTarget)
    profile: Path | None = None
    trust_providers: tuple[str, ...] = ()
    enable_providers: tuple[str, ...] = ()
    external_providers: tuple[str, ...] = ()  # NS=COMMAND
    strict_providers: bool | None = None
    provider_timeout: float | None = None
    no_cache: bool = False
    break_system_packages: bool = False
    link_mode: str | None = None  # hardlink | clone | copy (install/unpacked.py)
    refresh: bool = False  # revalidate cached index pages even while fresh
    reinstall_packages: tuple[str, ...] = ()  # --reinstall-package NAME
    upgrade_strategy: str | None = None  # only-if-needed | eager
    # --only-binary / --no-binary values in command-line order: ("only-binary", "a,b"), ...
    format_control: tuple[tuple[str, str], ...] = ()
    require_hashes: bool = False
    indexes: tuple[str, ...] = ()  # --index [NAME=]URL
    index_for: tuple[str, ...] = ()  # --index-for PROJECT=NAME|URL
    keyring_provider: str | None = None  # disabled | subprocess
    cert: str | None = None
    client_cert: str | None = None
    timeout: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, merged and validated. Build with :meth:`load` (reads the config
    files and environment) or directly (tests, scripts: the defaults are varwheel's)."""

    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    index_strategy: str = "first-index"
    allow_prereleases: bool = False
    allow_sdists: bool = True
    build_isolation: bool = True
    preferences: Preferences | None = None  # None: spec.selection.Preferences()
    variant_for: Mapping[NormalizedName, str] = field(default_factory=dict)
    no_deps: bool = False
    upgrade: bool = False
    force_reinstall: bool = False
    compile_bytecode: bool = False
    # -c lines with their FILE:LINE; --hash values per project; lines naming a wheel directly
    constraints: tuple[tuple[Requirement, str], ...] = ()
    hashes: tuple[tuple[NormalizedName, str], ...] = ()
    direct_lines: tuple[str, ...] = ()
    python: str | None = None
    cross: CrossTarget = field(default_factory=CrossTarget)
    profile: Path | None = None
    trusted_providers: tuple[str, ...] = ()
    enable_providers: tuple[str, ...] = ()
    external_providers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    strict_providers: bool = False
    provider_timeout: float = DEFAULT_PROVIDER_TIMEOUT
    provider_cache: bool = True
    plugin_source: PluginSource | None = None  # None: pip's own defaults
    break_system_packages: bool = False
    cache_dir: Path | None = None  # None: no on-disk HTTP/wheel cache
    provider_cache_dir: Path | None = None
    warnings: tuple[str, ...] = ()  # from reading the configuration (reported by the API)
    sources: tuple[Path, ...] = ()  # configuration files read, lowest precedence first
    link_mode: str | None = None  # None: $VARWHEEL_LINK_MODE, else hardlink
    refresh: bool = False
    reinstall_packages: frozenset[NormalizedName] = frozenset()
    upgrade_strategy: str = "only-if-needed"
    only_binary: frozenset[str] = frozenset()  # canonical names or ":all:"
    no_binary: frozenset[str] = frozenset()
    require_hashes: bool = False  # pip's --require-hashes: every requirement pinned + --hash
    # named indexes (searched before index_url unless explicit) and projects pinned to one
    indexes: tuple[NamedIndex, ...] = ()
    index_for: Mapping[NormalizedName, str] = field(default_factory=dict)  # -> index URL
    keyring_provider: str = "disabled"
    netrc: Path | None = None  # None: no .netrc is read
    cert: str | None = None
    client_cert: str | None = None
    timeout: float = DEFAULT_HTTP_TIMEOUT
    retries: int = DEFAULT_RETRIES
    index_origin: str = ""  # where the index locations came from, when pip's or uv's settings

    # -- building ------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        flags: Flags | None = None,
        *,
        requirements: RequirementsFile | None = None,
        config: Config | None = None,
        cwd: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Merge (see the module docstring). ``config`` defaults to ``config.load_config``
        for ``cwd`` and ``environ``; ``requirements`` are the ``-r``/``-c`` files' options.
        pip's and uv's settings (``peer_settings``) are read only when ``config`` is not given:
        a caller that passes its own configuration gets exactly that."""
        from varwheel.config import Config as _Config
        from varwheel.config import load_config
        from varwheel.index.auth import netrc_path
        from varwheel.install.environment import break_system_packages_from_environ
        from varwheel.providers.cache import cache_root
        from varwheel.resolve.requirements_file import RequirementsFile as _Files

        env = os.environ if environ is None else environ
        f = flags or Flags()
        cfg = config if config is not None else load_config(cwd=cwd, environ=env)
        files = requirements or _Files()
        index_url = f.index_url or files.index_url
        extra = (*f.extra_index_urls, *files.extra_index_urls)
        links = (*f.find_links, *files.find_links)
        no_index = f.no_index or files.no_index
        warnings = list(cfg.warnings)
        cfg, index_origin = _with_peer_fallbacks(
            cfg,
            own_index=bool(index_url or extra or links or no_index or f.indexes),
            own_default=bool(index_url or no_index),
            use=config is None,
            environ=env,
            warnings=warnings,
        )
        strategy = f.index_strategy or cfg.index_strategy or "first-index"
        if strategy not in INDEX_STRATEGIES:
            raise InvalidInput(
                f"--index-strategy {strategy!r}: expected one of {', '.join(INDEX_STRATEGIES)}"
            )
        named, pins = _named_indexes(f, cfg)
        transport = _transport(f, cfg)
        prefs = _preferences(f, cfg)
        trusted, enabled, external, timeout = _provider_lists(f, cfg)
        root = cache_root()  # $VARWHEEL_CACHE_DIR, else the platform cache dir
        return cls(
            index_url=index_url or cfg.index_url or DEFAULT_INDEX_URL,
            extra_index_urls=tuple(extra) or tuple(cfg.extra_index_url),
            find_links=tuple(links) or tuple(cfg.find_links),
            no_index=no_index or bool(cfg.no_index),
            index_strategy=strategy,
            allow_prereleases=f.pre or files.pre,
            allow_sdists=not f.no_build,
            build_isolation=not f.no_build_isolation,
            preferences=prefs,
            variant_for=parse_variant_pins(f.variants),
            no_deps=f.no_deps,
            upgrade=f.upgrade,
            force_reinstall=f.force_reinstall,
            reinstall_packages=frozenset(_canonical(n) for n in f.reinstall_packages),
            upgrade_strategy=_upgrade_strategy(f.upgrade_strategy),
            only_binary=_format_control(f.format_control)[0],
            no_binary=_format_control(f.format_control)[1],
            require_hashes=f.require_hashes or files.require_hashes,
            compile_bytecode=f.compile_bytecode,
            constraints=tuple(files.constraints),
            hashes=tuple(files.hashes),
            direct_lines=tuple(files.direct),
            python=f.python,
            cross=f.cross,
            profile=f.profile or cfg.profile,
            trusted_providers=trusted,
            enable_providers=enabled,
            external_providers=external,
            strict_providers=(
                f.strict_providers if f.strict_providers is not None else bool(cfg.strict_providers)
            ),
            provider_timeout=timeout,
            provider_cache=not f.no_cache,
            plugin_source=_plugin_source(
                user=cfg.user_layer or _Config(),
                index_url=index_url,
                extra_index_urls=extra,
                find_links=links,
                no_index=no_index,
            ),
            break_system_packages=f.break_system_packages
            or break_system_packages_from_environ(env),
            cache_dir=root / "index",
            provider_cache_dir=root,
            warnings=tuple(warnings),
            sources=tuple(cfg.sources),
            link_mode=_link_mode(f.link_mode, env),
            refresh=f.refresh,
            indexes=named,
            index_for=pins,
            netrc=netrc_path(env),
            index_origin=index_origin,
            **transport,
        )

    @classmethod
    def from_flags(cls, flags: Flags, *, environ: Mapping[str, str] | None = None) -> Settings:
        """Flags and environment only, no configuration files: for commands that take no
        configured setting (``list``, ``uninstall``), so a broken config never blocks them."""
        from varwheel.config import Config as _Config

        return cls.load(flags, config=_Config(), environ=environ)

    # -- what the layers take ------------------------------------------------------------
    def selection_preferences(self) -> Preferences:
        from varwheel.spec.selection import Preferences

        return self.preferences if self.preferences is not None else Preferences()

    def index_client(self) -> IndexClient:
        """An HTTP index client for these index settings (close it, or use ``with``)."""
        from varwheel.index.auth import AuthOptions
        from varwheel.index.client import IndexClient

        searched = [i.url for i in self.indexes if not i.explicit]
        names = {_root(u): "" for u in (self.index_url, *self.extra_index_urls) if "://" in u}
        names.update({_root(i.url): i.name for i in self.indexes})
        return IndexClient(
            [*searched, self.index_url],
            list(self.extra_index_urls),
            list(self.find_links),
            no_index=self.no_index,
            cache_dir=self.cache_dir,
            index_strategy=self.index_strategy,
            refresh=self.refresh,
            project_indexes={} if self.no_index else {p: [u] for p, u in self.index_for.items()},
            auth=AuthOptions(
                netrc=self.netrc, keyring_provider=self.keyring_provider, index_names=names
            ),
            cert=self.cert,
            client_cert=self.client_cert,
            timeout=self.timeout,
            retries=self.retries,
        )

    def provider_options(
        self,
        *,
        target_python: str | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> ProviderOptions:
        """How providers run; ``target_python``: the interpreter trusted plugins are installed
        for and answer about (None for another machine's target)."""
        from varwheel.providers.detect import ProviderOptions
        from varwheel.providers.plugin_source import PluginSource

        return ProviderOptions(
            profile=self.profile,
            trusted=self.trusted_providers,
            enabled_optional=self.enable_providers,
            strict=self.strict_providers,
            timeout=self.provider_timeout,
            external=dict(self.external_providers),
            cache=self.provider_cache,
            target_python=target_python,
            cache_dir=self.provider_cache_dir,
            plugin_source=self.plugin_source or PluginSource(),
            on_warning=None if on_warning is None else _printable_to(on_warning),
        )

    def resolve_options(
        self, requested: Iterable[NormalizedName], marker_env: Mapping[str, str]
    ) -> ResolveOptions:
        """Resolution options for these requested names (``upgrade`` applies to them) and the
        ``-c`` constraints whose markers hold for ``marker_env``."""
        from varwheel.resolve.options import ResolveOptions

        return ResolveOptions(
            prefs=self.selection_preferences(),
            variant_for=dict(self.variant_for),
            allow_prereleases=self.allow_prereleases,
            no_deps=self.no_deps,
            upgrade=frozenset(requested) if self.upgrade else frozenset(),
            force_reinstall=self.force_reinstall,
            allow_sdists=self.allow_sdists,
            build_isolation=self.build_isolation,
            constraints=self.constraints_for(marker_env),
            reinstall=self.reinstall_packages,
            upgrade_eager=self.upgrade_strategy == "eager",
            only_binary=self.only_binary,
            no_binary=self.no_binary,
        )

    def constraints_for(self, marker_env: Mapping[str, str]) -> tuple[Constraint, ...]:
        """The ``-c`` lines whose markers hold for the target."""
        from varwheel.resolve.options import Constraint

        return tuple(
            Constraint(_canonical(req.name), req.specifier, source)
            for req, source in self.constraints
            if req.marker is None or req.marker.evaluate(dict(marker_env))
        )

    def required_hashes(self) -> dict[str, set[str]]:
        """pip's hash-checking mode: the allowed ``algo:hex`` values per project (empty: off)."""
        out: dict[str, set[str]] = {}
        for name, value in self.hashes:
            out.setdefault(name, set()).add(value)
        return out


# -- merging helpers ---------------------------------------------------------------------

UPGRADE_STRATEGIES = ("only-if-needed", "eager")


def _upgrade_strategy(value: str | None) -> str:
    strategy = value or "only-if-needed"
    if strategy not in UPGRADE_STRATEGIES:
        raise InvalidInput(
            f"--upgrade-strategy {strategy!r}: expected one of {', '.join(UPGRADE_STRATEGIES)}"
        )
    return strategy


def _format_control(
    values: Iterable[tuple[str, str]],
) -> tuple[frozenset[str], frozenset[str]]:
    """(only_binary, no_binary) from ``--only-binary``/``--no-binary`` values in order, as pip's
    FormatControl: comma-separated names, ``:all:`` (clears both sets), ``:none:`` (clears this
    one); a name given to one is taken out of the other."""
    sets: dict[str, set[str]] = {"only-binary": set(), "no-binary": set()}
    for flag, value in values:
        target = sets[flag]
        other = sets["no-binary" if flag == "only-binary" else "only-binary"]
        for item in (part.strip() for part in value.split(",")):
            if not item or item.startswith("-"):
                raise InvalidInput(f"--{flag} {value!r}: expected names, :all: or :none:")
            if item == ":all:":
                target.clear()
                other.clear()
                target.add(":all:")
            elif item == ":none:":
                target.clear()
            else:
                name = _canonical(item)
                other.discard(name)
                target.add(name)
    return frozenset(sets["only-binary"]), frozenset(sets["no-binary"])


def parse_variant_pins(values: Iterable[str]) -> dict[NormalizedName, object]:
    """``--variant NAME=LABEL|null|'ns :: f :: v'`` texts into ``{canonical name: request}``:
    a label stays the bare ``str``, properties become a ``spec.request.VariantRequest``
    (``parse_requests``: a conflict or ``*`` is an ``InvalidInput``)."""
    from varwheel.spec.request import parse_requests

    return {
        name: req.label if req.label is not None else req
        for name, req in parse_requests(values).items()
    }


def _root(url: str) -> str:
    """An index URL as ``IndexClient`` keeps it: no credentials, one trailing slash."""
    from varwheel.index.http import split_credentials

    try:
        bare = split_credentials(url)[0] if "://" in url else url
    except ValueError:  # IndexClient refuses it with one line that hides the password
        return url
    return bare if bare.endswith("/") else bare + "/"


def _with_peer_fallbacks(
    cfg: Config,
    *,
    own_index: bool,
    use: bool,
    environ: Mapping[str, str],
    warnings: list[str],
    own_default: bool = False,
) -> tuple[Config, str]:
    """``cfg`` with pip's and uv's settings under it (``peer_settings.py``): their index
    locations only when neither ``cfg`` nor the command line names any, except their
    ``index-url`` (a mirror), which stays the default index unless varwheel's sources give an
    ``index-url`` or ``no-index`` (``own_default``), as in pip and uv; every other key only
    where ``cfg`` leaves it unset. Returns the config and where the index locations came from
    (empty: not from pip or uv). A bad value there is a warning and ignored: it is another
    tool's configuration."""
    from dataclasses import replace

    from varwheel.config import _KEY_TO_FIELD, _convert, _env_value
    from varwheel.peer_settings import INDEX_KEYS, peer_settings

    if not use:
        return cfg, ""
    peers = peer_settings(environ)
    warnings.extend(peers.warnings)
    own = own_index or any(getattr(cfg, _KEY_TO_FIELD[k]) not in (None, (), {}) for k in INDEX_KEYS)
    # their default index (a mirror) stays the default beside varwheel's extras, find-links and
    # named indexes, as in pip and uv; only an index-url or no-index of varwheel's replaces it
    own_default = own_default or cfg.index_url is not None or bool(cfg.no_index)
    changes: dict[str, object] = {}
    origins: list[str] = []
    for key, text in peers.values.items():
        name = _KEY_TO_FIELD[key]
        if key in INDEX_KEYS and own and (key != "index-url" or own_default):
            continue
        if key not in INDEX_KEYS and getattr(cfg, name) is not None:
            continue
        if key == "keyring-provider" and text.strip() != "subprocess":
            continue  # pip's auto/import mean its own keyring module: not ours to import
        origin = Path(peers.origin[key])
        try:
            changes[name] = _convert(key, _env_value(key, text, origin), origin)
        except InvalidInput as exc:
            warnings.append(f"{exc} (ignored)")
            continue
        if key in INDEX_KEYS:
            origins.append(peers.origin[key])
    return replace(cfg, **changes), ", ".join(sorted(origins))


def _named_indexes(
    f: Flags, cfg: Config
) -> tuple[tuple[NamedIndex, ...], dict[NormalizedName, str]]:
    """The named indexes (``--index`` replaces the configured ``index`` list) and the projects
    pinned to one (``--index-for`` over ``index-for``, per project), each pin as a URL."""
    from varwheel.config import NamedIndex, index_entries, index_pin

    named: tuple[NamedIndex, ...] = tuple(cfg.index)
    if f.indexes:
        entries = index_entries(f.indexes, "--index")
        named = tuple(NamedIndex(e["name"], e["url"]) for e in entries)
    by_name: dict[str, NamedIndex] = {}
    for index in named:
        if index.name in by_name:
            raise InvalidInput(f"--index: the name {index.name!r} is used twice")
        by_name[index.name] = index
    wanted = dict(cfg.index_for)
    origin = {project: "index-for" for project in wanted}
    for text in f.index_for:
        project, target = index_pin(text, "--index-for")
        wanted[project] = target
        origin[project] = "--index-for"
    pins: dict[NormalizedName, str] = {}
    for project, target in wanted.items():
        if "://" in target or target.startswith("file:"):
            pins[_canonical(project)] = target
            continue
        if target not in by_name:
            known = f" (named: {', '.join(by_name)})" if by_name else " (none is named)"
            raise InvalidInput(
                f"{origin[project]} {project}={target}: no index named {target!r}{known}; "
                "name one with [[index]] or --index NAME=URL, or give a URL"
            )
        pins[_canonical(project)] = by_name[target].url
    return named, pins


def _transport(f: Flags, cfg: Config) -> dict[str, object]:
    """``keyring_provider``, ``cert``, ``client_cert``, ``timeout``, ``retries``: flag, else
    config (with pip's and uv's under it), else the default; paths must be files."""
    from varwheel.config import KEYRING_PROVIDERS

    keyring = f.keyring_provider or cfg.keyring_provider or "disabled"
    if keyring not in KEYRING_PROVIDERS:
        raise InvalidInput(
            f"--keyring-provider {keyring!r}: expected one of {', '.join(KEYRING_PROVIDERS)}"
        )
    out: dict[str, object] = {"keyring_provider": keyring}
    for name, flag in (("cert", "--cert"), ("client_cert", "--client-cert")):
        value = getattr(f, name) or getattr(cfg, name)
        if value is not None and not Path(value).expanduser().is_file():
            raise InvalidInput(f"{flag} {value}: no such file")
        out[name] = str(Path(value).expanduser()) if value else None
    timeout = f.timeout if f.timeout is not None else cfg.timeout
    if timeout is not None and (not math.isfinite(timeout) or timeout <= 0):
        raise InvalidInput(f"--timeout: must be a positive number of seconds, got {timeout:g}")
    out["timeout"] = float(timeout) if timeout is not None else DEFAULT_HTTP_TIMEOUT
    retries = f.retries if f.retries is not None else cfg.retries
    if retries is not None and not 0 <= retries <= 100:
        raise InvalidInput(f"--retries: must be from 0 to 100, got {retries}")
    out["retries"] = retries if retries is not None else DEFAULT_RETRIES
    return out


def _preferences(f: Flags, cfg: Config) -> Preferences:
    """Flags first; ``prefer``/``forbid``/``no-variants`` from the config when no flag is given."""
    from varwheel.spec.ordering import ForbidPattern
    from varwheel.spec.properties import VariantProperty
    from varwheel.spec.selection import Preferences

    prefer_texts = list(f.prefer) or list(cfg.prefer or ())
    forbid_texts = list(f.forbid) or list(cfg.forbid or ())
    no_variants = f.no_variants or bool(cfg.no_variants)
    prefer = tuple(VariantProperty.parse(text) for text in prefer_texts)
    forbid = tuple(ForbidPattern.parse(text).text for text in forbid_texts)
    if f.force_variant and not f.variants:
        raise InvalidInput("--force-variant needs --variant NAME=LABEL")
    return Preferences(
        prefer=prefer,
        forbid=forbid,
        force_variant=f.force_variant,
        variants_enabled=not no_variants,
    )


def parse_external(items: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``--external-provider NS=COMMAND`` items into ``{ns: argv}``."""
    from varwheel.spec.properties import NAMESPACE_RE

    commands: dict[str, tuple[str, ...]] = {}
    for item in items:
        ns, sep, cmd = item.partition("=")
        ns = ns.strip()
        try:
            argv = shlex.split(cmd)
        except ValueError as exc:
            raise InvalidInput(f"--external-provider {item!r}: {exc}") from exc
        if not sep or not NAMESPACE_RE.fullmatch(ns) or not argv:
            raise InvalidInput(
                f"--external-provider {item!r}: expected NAMESPACE=COMMAND, "
                "e.g. 'tpu=/opt/bin/tpu-provider --fast'"
            )
        commands[ns] = tuple(argv)
    return commands


def _provider_lists(
    f: Flags, cfg: Config
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[str, ...]], float]:
    from varwheel.spec.properties import NAMESPACE_RE

    trusted = tuple(cfg.trusted_providers) + tuple(f.trust_providers)
    if trusted:
        from varwheel.providers.trust import parse_pins

        parse_pins(trusted)  # a bad pin fails now, naming the flag or file
    for ns in f.enable_providers:
        if not NAMESPACE_RE.fullmatch(ns):
            raise InvalidInput(f"--enable-provider: invalid namespace {ns!r}")
    enabled = tuple(dict.fromkeys([*cfg.enable_providers, *f.enable_providers]))
    external = dict(cfg.external_providers)
    external.update(parse_external(f.external_providers))
    timeout = f.provider_timeout
    if timeout is None:
        timeout = (
            cfg.provider_timeout if cfg.provider_timeout is not None else DEFAULT_PROVIDER_TIMEOUT
        )
    if not math.isfinite(timeout) or timeout <= 0:  # float() also parses "nan" and "inf"
        raise InvalidInput(f"--provider-timeout: must be positive, got {timeout:g}")
    return trusted, enabled, external, float(timeout)


def _plugin_source(
    *,
    user: Config,
    index_url: str | None,
    extra_index_urls: tuple[str, ...],
    find_links: tuple[str, ...],
    no_index: bool,
) -> PluginSource:
    """Where trusted plugins are installed from: the USER's index options only. The command
    line (flags, and ``-r`` files the user names there) and the user config count; a project's
    ``[tool.varwheel]`` never does, so a cloned repository cannot make a trusted pin resolve to
    other code. Relative local paths are made absolute (command line: the current directory;
    user config: its own directory), because pip runs in a private directory."""
    from varwheel.providers.plugin_source import PluginSource

    base = user.sources[0].parent if user.sources else Path.cwd()
    links = (
        tuple(_absolute(link, Path.cwd()) for link in find_links)
        if find_links
        else tuple(_absolute(link, base) for link in user.find_links)
    )
    return PluginSource(
        index_url=index_url or user.index_url,
        extra_index_urls=tuple(extra_index_urls) or user.extra_index_url,
        find_links=links,
        no_index=no_index,
    )


def _absolute(link: str, base: Path) -> str:
    if "://" in link or link.startswith("file:"):
        return link
    path = Path(link).expanduser()
    return str(path if path.is_absolute() else base / path)


def _printable_to(sink: Callable[[str], None]) -> Callable[[str], None]:
    """Provider warnings may quote downloaded metadata (markers, plugin errors): never let
    it drive the terminal."""

    def warn(line: str) -> None:
        sink("".join(c if c.isprintable() else ascii(c)[1:-1] for c in line))

    return warn


def load_config(*, cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The user config with the project's ``[tool.varwheel]`` over it (``config.load_config``)."""
    from varwheel.config import load_config as _load

    return _load(cwd=cwd, environ=environ)


def empty_config() -> Config:
    """No configuration at all (defaults only)."""
    from varwheel.config import Config as _Config

    return _Config()


def break_system_packages_from_environ(environ: Mapping[str, str] | None = None) -> bool:
    """``VARWHEEL_BREAK_SYSTEM_PACKAGES`` or pip's ``PIP_BREAK_SYSTEM_PACKAGES`` set true."""
    from varwheel.install.environment import break_system_packages_from_environ as _from

    return _from(environ)


def _link_mode(value: str | None, environ: Mapping[str, str]) -> str | None:
    """``--link-mode``, else ``$VARWHEEL_LINK_MODE`` (InvalidInput when not a mode), else None
    (the install's default, hardlink); install/ is imported only when one is given."""
    if value is None and not environ.get("VARWHEEL_LINK_MODE"):
        return None
    from varwheel.install.unpacked import link_mode_from

    return link_mode_from(value, environ)


def default_cache_dir() -> Path:
    """The HTTP page and wheel cache (``varwheel cache`` shows and clears it)."""
    from varwheel.providers.cache import cache_root

    return cache_root() / "index"


def _canonical(name: str) -> NormalizedName:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)
