"""``Settings``: the one merge of user config, project config (``[tool.varwheel]``), environment
variables, requirements-file options and command-line flags, as an immutable value.

Precedence (docs/configuration.md#precedence), lowest first: built-in defaults, the user config
(``$VARWHEEL_CONFIG`` or the platform config dir), the project's ``[tool.varwheel]``, options of
the ``-r`` requirements files, environment variables, flags. For scalar keys the highest source
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

    from varwheel.config import Config
    from varwheel.index.client import IndexClient
    from varwheel.providers.detect import ProviderOptions
    from varwheel.providers.runner import PluginSource
    from varwheel.resolve.options import Constraint, ResolveOptions
    from varwheel.resolve.requirements_file import RequirementsFile
    from varwheel.spec.selection import Preferences

__all__ = ["Flags", "Settings"]

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
DEFAULT_PROVIDER_TIMEOUT = 10.0
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
        for ``cwd`` and ``environ``; ``requirements`` are the ``-r``/``-c`` files' options."""
        from varwheel.config import Config as _Config
        from varwheel.config import load_config
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
        strategy = f.index_strategy or "first-index"
        if strategy not in INDEX_STRATEGIES:
            raise InvalidInput(
                f"--index-strategy {strategy!r}: expected one of {', '.join(INDEX_STRATEGIES)}"
            )
        prefs = _preferences(f, cfg)
        trusted, enabled, external, timeout = _provider_lists(f, cfg)
        root = cache_root()  # $VARWHEEL_CACHE_DIR, else the platform cache dir
        return cls(
            index_url=index_url or cfg.index_url or DEFAULT_INDEX_URL,
            extra_index_urls=tuple(extra) or tuple(cfg.extra_index_url),
            find_links=tuple(links) or tuple(cfg.find_links),
            no_index=no_index,
            index_strategy=strategy,
            allow_prereleases=f.pre or files.pre,
            allow_sdists=not f.no_build,
            build_isolation=not f.no_build_isolation,
            preferences=prefs,
            variant_for=parse_variant_pins(f.variants),
            no_deps=f.no_deps,
            upgrade=f.upgrade,
            force_reinstall=f.force_reinstall,
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
            warnings=tuple(cfg.warnings),
            sources=tuple(cfg.sources),
            link_mode=_link_mode(f.link_mode, env),
            refresh=f.refresh,
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
        from varwheel.index.client import IndexClient

        return IndexClient(
            [self.index_url],
            list(self.extra_index_urls),
            list(self.find_links),
            no_index=self.no_index,
            cache_dir=self.cache_dir,
            index_strategy=self.index_strategy,
            refresh=self.refresh,
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
        from varwheel.providers.runner import PluginSource

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


def parse_variant_pins(values: Iterable[str]) -> dict[NormalizedName, str]:
    """``--variant NAME=LABEL`` texts into ``{canonical name: label}``."""
    from varwheel.spec.properties import validate_label

    pins: dict[NormalizedName, str] = {}
    for text in values:
        name, sep, label = text.partition("=")
        if not sep or not name.strip() or not label.strip():
            raise InvalidInput(f"--variant {text!r}: expected NAME=LABEL, e.g. torch=cuda12.8")
        pins[_canonical(name.strip())] = validate_label(label.strip())
    return pins


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
    from varwheel.providers.trust import parse_pins
    from varwheel.spec.properties import NAMESPACE_RE

    trusted = tuple(cfg.trusted_providers) + tuple(f.trust_providers)
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
    from varwheel.providers.runner import PluginSource

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
