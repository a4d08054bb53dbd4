"""Provider orchestration: which source answers each namespace, and what it answered.

For every namespace of the metadata (PEP 817 §"Suggested implementation logic" step 7):

1. static / ahead-of-time providers: nothing to run (selection reads the metadata);
2. optional providers not enabled, and ``enable-if`` false on the TARGET environment: unavailable,
   nothing runs (PEP 817 §"Provider-handling rules");
3. a profile, when given, answers for every namespace and nothing runs (step 7(a));
4. else a native provider in-process (step 7(b));
5. else a third-party plugin, only when trusted by an exact pin (step 7(c), §"Security"),
   installed into an isolated venv and queried out of process with a timeout;
6. else an external command the user configured for the namespace;
7. else unavailable: the variants needing the namespace are incompatible (step 7(d)).

A failing source makes its namespace unavailable with exactly one warning line per session, or,
with ``strict``, raises :class:`ProviderError`. Each query runs once per session (checklist 46);
native answers are also cached on disk (``cache.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker as PackagingInvalidMarker
from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName

from varwheel.codes import SupportSource
from varwheel.errors import InvalidMetadata, ProviderError, VarwheelError
from varwheel.providers import cache as cache_mod
from varwheel.providers.abi import ABI_NAMESPACE, abi_supported
from varwheel.providers.base import (
    FeatureConfig,
    Provider,
    configs_to_properties,
    feature_configs_from_json,
    feature_configs_to_json,
    validate_supported,
)
from varwheel.providers.plugin_source import PluginSource
from varwheel.spec.model import ProviderInfo, ProviderKind, VariantMetadata
from varwheel.spec.selection import SupportedProperties

if TYPE_CHECKING:  # the plugin runner and the trust rules load only where a plugin is asked
    from varwheel.providers import runner, trust

DEFAULT_TIMEOUT = 10.0
Warn = Callable[[str], None]


@dataclass(frozen=True)
class ProviderOptions:
    """How providers may be run. ``on_warning`` receives each one-line warning once."""

    profile: Path | None = None
    trusted: tuple[str, ...] = ()
    enabled_optional: tuple[str, ...] = ()
    strict: bool = False
    timeout: float = DEFAULT_TIMEOUT
    external: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cache: bool = True
    target_python: str | None = None  # interpreter plugins are installed for; default: ours
    plugin_source: PluginSource = field(default_factory=PluginSource)
    cache_dir: Path | None = None  # default: cache.cache_root()
    on_warning: Warn | None = field(default=None, compare=False, hash=False, repr=False)

    def __hash__(self) -> int:  # ``external`` is a dict: hash the normalised key instead
        return hash(self.key())

    def key(self) -> tuple[Any, ...]:
        return (
            str(self.profile) if self.profile else None,
            self.trusted,
            self.enabled_optional,
            self.strict,
            self.timeout,
            tuple(sorted((ns, tuple(cmd)) for ns, cmd in self.external.items())),
            self.cache,
            self.target_python,
            self.plugin_source,
            str(self.cache_dir) if self.cache_dir else None,
        )


@dataclass(frozen=True)
class NamespaceResult:
    """What one source answered for one namespace (``properties`` None = unavailable)."""

    namespace: str
    source: str
    properties: Mapping[str, tuple[str, ...]] | None
    reason: str = ""
    cached: bool = False
    seconds: float = 0.0
    kind: SupportSource = SupportSource.NONE  # what kind of source ``source`` names


@dataclass(frozen=True)
class _PluginPlan:
    """A trusted plugin to query, batched per plugin venv."""

    namespace: str
    pins: tuple[trust.TrustedPin, ...]
    plugin_api: str


class ProviderSession:
    """Runs providers for one install session; each query at most once."""

    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self.warnings: list[str] = []
        self._pins: tuple[trust.TrustedPin, ...] = ()
        if options.trusted:
            from varwheel.providers.trust import parse_pins

            self._pins = parse_pins(options.trusted)
        self._results: dict[tuple[Any, ...], NamespaceResult] = {}
        self._profile: SupportedProperties | None = None
        self._cache = (
            cache_mod.AnswerCache(options.cache_dir or cache_mod.cache_root())
            if options.cache
            else None
        )

    # -- public ------------------------------------------------------------------------------

    def detect(
        self,
        md: VariantMetadata,
        *,
        target_env: Mapping[str, str],
        installed: Mapping[str, str] | None = None,
        adding: Mapping[str, str] | None = None,
    ) -> SupportedProperties:
        """Supported properties of the target for the namespaces of ``md``."""
        properties: dict[str, dict[str, tuple[str, ...]]] = {}
        unavailable: dict[str, str] = {}
        pending: list[_PluginPlan] = []
        for ns in _namespaces(md):
            if ns == ABI_NAMESPACE:
                if installed is None:
                    unavailable[ns] = "abi_dependency needs the target's installed distributions"
                else:
                    properties[ns] = abi_supported(installed, adding)
                continue
            info = md.providers.get(ns)
            outcome = (
                self._plan(ns, info, md, target_env)
                if info is not None
                else self._plan_unnamed(ns, target_env)
            )
            if isinstance(outcome, NamespaceResult):
                self._collect(outcome, properties, unavailable)
            elif isinstance(outcome, _PluginPlan):
                pending.append(outcome)
        for result in self._run_plugins(pending):
            self._collect(result, properties, unavailable)
        return SupportedProperties(properties, unavailable)

    def detect_native(
        self,
        namespaces: Iterable[str] | None = None,
        *,
        target_env: Mapping[str, str] | None = None,
    ) -> tuple[NamespaceResult, ...]:
        """Every native provider (and configured external command), for ``varwheel detect``."""
        env = dict(target_env) if target_env is not None else _own_marker_env()
        wanted = set(namespaces) if namespaces is not None else None
        results: list[NamespaceResult] = []
        seen: set[str] = set()
        if self.options.profile is not None:
            profile = self._load_profile()
            for ns in sorted(profile.properties):
                if wanted is None or ns in wanted:
                    seen.add(ns)
                    results.append(self._from_profile(ns))
        else:
            for provider in _all_native():
                ns = provider.namespace
                if (wanted is None or ns in wanted) and ns not in seen:
                    seen.add(ns)
                    results.append(self._run_native(ns, provider, env))
            for ns in sorted(self.options.external):
                if (wanted is None or ns in wanted) and ns not in seen:
                    seen.add(ns)
                    results.append(self._run_external(ns, self.options.external[ns]))
        for ns in sorted((wanted or set()) - seen):
            results.append(NamespaceResult(ns, "none", None, f"no provider for namespace {ns!r}"))
        return tuple(results)

    def results(self) -> tuple[NamespaceResult, ...]:
        """Every answer and failure of this session so far (for reports and ``explain``)."""
        return tuple(self._results.values())

    # -- planning ----------------------------------------------------------------------------

    def _plan(
        self, ns: str, info: ProviderInfo, md: VariantMetadata, target_env: Mapping[str, str]
    ) -> NamespaceResult | _PluginPlan | None:
        kind = info.kind
        if kind in (ProviderKind.STATIC, ProviderKind.AOT_PLUGIN):
            return None  # AoT: the metadata's static-properties apply, never a query
        if info.optional and ns not in self.options.enabled_optional:
            return NamespaceResult(
                ns,
                "optional",
                None,
                f"optional provider '{ns}' is not enabled (enable it with --enable-provider {ns})",
                kind=SupportSource.OPTIONAL,
            )
        if info.enable_if is not None and not _enable_if(md, ns, info.enable_if, target_env):
            return NamespaceResult(
                ns,
                "enable-if",
                None,
                f"enable-if '{info.enable_if}' is false for the target",
                kind=SupportSource.ENABLE_IF,
            )
        if self.options.profile is not None:
            return self._from_profile(ns)
        native = _native_for(ns, info)
        if native is not None:
            return self._run_native(ns, native, target_env)
        from varwheel.providers.trust import applicable_requirements, decide

        requirements = applicable_requirements(info.requires, target_env, namespace=ns)
        decision = decide(requirements, self._pins) if requirements else None
        if decision is not None and decision.trusted:
            api = info.object_reference(target_env)
            assert api is not None  # ``requirements`` holds an applicable entry
            return _PluginPlan(ns, decision.pins, api)
        command = self.options.external.get(ns)
        if command:
            return self._run_external(ns, command)
        if decision is not None:
            return self._fail(ns, None, decision.reason, key=("untrusted", ns, decision.reason))
        if kind is ProviderKind.BUILTIN:
            reason = f"builtin provider {info.builtin!r} is not implemented by varwheel"
        else:
            reason = f"no provider for namespace '{ns}' (the metadata names none)"
        return self._fail(ns, None, reason, key=("none", ns, reason))

    def _plan_unnamed(self, ns: str, target_env: Mapping[str, str]) -> NamespaceResult:
        """A namespace the metadata gives no provider for (PEP 825 v0.1.x documents carry no
        provider information): the profile, else the native provider owning the namespace,
        else a configured external command."""
        if self.options.profile is not None:
            return self._from_profile(ns)
        from varwheel.providers.registry import native_provider_by_namespace

        native = native_provider_by_namespace(ns)
        if native is not None:
            return self._run_native(ns, native, target_env)
        command = self.options.external.get(ns)
        if command:
            return self._run_external(ns, command)
        reason = f"no provider known for namespace '{ns}'"
        return self._fail(ns, None, reason, key=("none", ns, reason))

    def _collect(
        self,
        result: NamespaceResult,
        properties: dict[str, dict[str, tuple[str, ...]]],
        unavailable: dict[str, str],
    ) -> None:
        if result.properties is None:
            unavailable[result.namespace] = result.reason
        else:
            properties[result.namespace] = dict(result.properties)

    def _fail(
        self,
        ns: str,
        who: str | None,
        reason: str,
        *,
        key: tuple[Any, ...],
        kind: SupportSource = SupportSource.NONE,
    ) -> NamespaceResult:
        """Unavailable namespace + one warning per session (or ProviderError when strict).

        ``who`` names a source that ran and failed; None when nothing could run at all."""
        what = f"{who} failed: {reason}" if who else reason
        line = f"{what}; variants that need namespace '{ns}' are treated as incompatible"
        if self.options.strict:
            raise ProviderError(line)
        cached = self._results.get(key)
        if cached is None:
            cached = NamespaceResult(ns, who or "none", None, reason, kind=kind)
            self._results[key] = cached
            self.warnings.append(line)
            if self.options.on_warning is not None:
                self.options.on_warning(line)
        return cached

    # -- sources -----------------------------------------------------------------------------

    def _load_profile(self) -> SupportedProperties:
        if self._profile is None:
            from varwheel.providers.profile import load_profile  # only with --profile

            assert self.options.profile is not None
            self._profile = load_profile(self.options.profile)
        return self._profile

    def _from_profile(self, ns: str) -> NamespaceResult:
        profile = self._load_profile()
        source = f"profile {self.options.profile}"
        if ns in profile.properties:
            return NamespaceResult(
                ns, source, dict(profile.properties[ns]), kind=SupportSource.PROFILE
            )
        return NamespaceResult(
            ns,
            source,
            None,
            f"namespace '{ns}' is not listed in {source}",
            kind=SupportSource.PROFILE,
        )

    def _run_native(
        self, ns: str, provider: Provider, target_env: Mapping[str, str]
    ) -> NamespaceResult:
        who = f"native provider '{ns}' {provider.version}"
        env_values = {name: os.environ.get(name) for name in provider.override_env_vars}
        key = ("native", ns, type(provider).__qualname__, provider.version, _items(env_values))
        if key in self._results:
            return self._results[key]
        try:
            start = time.perf_counter()
            disk_key = None
            if self._cache is not None:
                disk_key = cache_mod.answer_key(
                    provider=f"{type(provider).__module__}.{type(provider).__qualname__}:{ns}",
                    version=provider.version,
                    interpreter=self._interpreter(target_env),
                    env_values=env_values,
                    fingerprint=provider.fingerprint(),
                )
                configs = _cached_configs(self._cache.get(disk_key), ns)
                if configs is not None:
                    result = NamespaceResult(
                        ns,
                        who,
                        configs_to_properties(configs),
                        cached=True,
                        kind=SupportSource.NATIVE,
                        seconds=time.perf_counter() - start,
                    )
                    self._results[key] = result
                    return result
            if provider.namespace != ns:
                raise ProviderError(f"answers for namespace {provider.namespace!r}")
            all_configs = tuple(provider.get_all_configs())
            supported = tuple(provider.get_supported_configs())
            validate_supported(ns, all_configs, supported)
        except VarwheelError as exc:
            return self._fail(ns, who, str(exc), key=key, kind=SupportSource.NATIVE)
        except Exception as exc:  # a native provider bug must not abort the install
            return self._fail(
                ns, who, f"{type(exc).__name__}: {exc}", key=key, kind=SupportSource.NATIVE
            )
        if self._cache is not None and disk_key is not None:
            self._cache.put(disk_key, feature_configs_to_json(supported))
        result = NamespaceResult(
            ns,
            who,
            configs_to_properties(supported),
            seconds=time.perf_counter() - start,
            kind=SupportSource.NATIVE,
        )
        self._results[key] = result
        return result

    def _run_external(self, ns: str, command: tuple[str, ...]) -> NamespaceResult:
        who = f"external provider {' '.join(command)!r}"
        key = ("external", ns, tuple(command), _environ_digest())
        if key in self._results:
            return self._results[key]
        from varwheel.providers import external as external_mod  # only when configured

        start = time.perf_counter()
        try:
            timeout = self.options.timeout
            all_raw = external_mod.query_external(ns, command, "get_all_configs", timeout=timeout)
            sup_raw = external_mod.query_external(
                ns, command, "get_supported_configs", timeout=timeout
            )
            all_configs = feature_configs_from_json(all_raw, namespace=ns)
            supported = feature_configs_from_json(sup_raw, namespace=ns)
            validate_supported(ns, all_configs, supported)
        except (external_mod.ExternalFailure, ProviderError) as exc:
            return self._fail(ns, who, str(exc), key=key, kind=SupportSource.EXTERNAL)
        result = NamespaceResult(
            ns,
            who,
            configs_to_properties(supported),
            seconds=time.perf_counter() - start,
            kind=SupportSource.EXTERNAL,
        )
        self._results[key] = result
        return result

    def _run_plugins(self, pending: list[_PluginPlan]) -> list[NamespaceResult]:
        """Query trusted plugins, one worker per plugin venv for all of its namespaces."""
        if not pending:
            return []
        from varwheel.providers import runner

        results: list[NamespaceResult] = []
        groups: dict[tuple[trust.TrustedPin, ...], list[tuple[str, str, tuple[Any, ...]]]] = {}
        env_digest = _environ_digest()
        for plan in pending:
            ns, api = plan.namespace, plan.plugin_api
            key = ("plugin", ns, plan.pins, api, self._python(), env_digest)
            if key in self._results:
                results.append(self._results[key])
            else:
                groups.setdefault(plan.pins, []).append((ns, api, key))
        for pins, members in groups.items():
            who = f"plugin {', '.join(str(p) for p in pins)}"
            try:
                env_dir = runner.ensure_plugin_env(
                    pins,
                    python=self._python(),
                    source=self.options.plugin_source,
                    cache_root=self.options.cache_dir or cache_mod.cache_root(),
                    allowed=self._pins,
                )
            except ProviderError as exc:
                for ns, _api, key in members:
                    results.append(
                        self._fail(ns, who, str(exc), key=key, kind=SupportSource.PLUGIN)
                    )
                continue
            start = time.perf_counter()
            answers = runner.query_plugins(
                env_dir,
                [runner.PluginQuery(ns, api) for ns, api, _key in members],
                timeout=self.options.timeout,
            )
            seconds = time.perf_counter() - start
            for ns, _api, key in members:
                try:
                    props = _validated_plugin_answer(ns, answers[ns])
                except ProviderError as exc:
                    results.append(
                        self._fail(ns, who, str(exc), key=key, kind=SupportSource.PLUGIN)
                    )
                    continue
                result = NamespaceResult(ns, who, props, seconds=seconds, kind=SupportSource.PLUGIN)
                self._results[key] = result
                results.append(result)
        return results

    def _python(self) -> str:
        return self.options.target_python or sys.executable

    def _interpreter(self, target_env: Mapping[str, str]) -> cache_mod.InterpreterId:
        implementation = target_env.get("implementation_name") or sys.implementation.name
        version = target_env.get("python_full_version") or platform.python_version()
        return cache_mod.InterpreterId(implementation, version, self._python())


def _cached_configs(stored: Any, ns: str) -> tuple[FeatureConfig, ...] | None:
    """A cached answer, or None when absent or damaged (then the provider simply runs again)."""
    if stored is None:
        return None
    try:
        return feature_configs_from_json(stored, namespace=ns)
    except ProviderError:
        return None


def _validated_plugin_answer(ns: str, answer: runner.PluginAnswer) -> dict[str, tuple[str, ...]]:
    if not answer.ok:
        raise ProviderError(answer.error)
    if answer.declared_namespace is not None and answer.declared_namespace != ns:
        raise ProviderError(
            f"plugin declares namespace {answer.declared_namespace!r}, but the metadata uses it "
            f"for {ns!r}"
        )
    all_configs = feature_configs_from_json(list(answer.all_configs), namespace=ns)
    supported = feature_configs_from_json(list(answer.supported_configs), namespace=ns)
    validate_supported(ns, all_configs, supported)
    return configs_to_properties(supported)


# -- module-level API ----------------------------------------------------------------------------

_SESSIONS: dict[tuple[Any, ...], ProviderSession] = {}


def session_for(options: ProviderOptions) -> ProviderSession:
    """The process-wide session for ``options`` (one install session = one varwheel process)."""
    key = options.key()
    session = _SESSIONS.get(key)
    if session is None or session.options.on_warning is not options.on_warning:
        session = _SESSIONS[key] = ProviderSession(options)
    return session


def detect_support(
    md: VariantMetadata,
    options: ProviderOptions,
    *,
    target_env: Mapping[str, str],
    installed: Mapping[str, str] | None = None,
    adding: Mapping[str, str] | None = None,
    session: ProviderSession | None = None,
) -> SupportedProperties:
    """Supported properties of the target for the namespaces ``md`` uses; never runs untrusted
    code. ``installed``/``adding`` (name -> version of the target environment and of this
    install) enable the ``abi_dependency`` namespace."""
    return (session or session_for(options)).detect(
        md, target_env=target_env, installed=installed, adding=adding
    )


# -- helpers -------------------------------------------------------------------------------------


def _namespaces(md: VariantMetadata) -> list[str]:
    order = list(dict.fromkeys(md.namespace_priorities))
    order += [ns for ns in md.providers if ns not in order]
    for props in md.variants.values():
        order += [p.namespace for p in props if p.namespace not in order]
    return list(dict.fromkeys(order))


def _enable_if(md: VariantMetadata, ns: str, marker: str, env: Mapping[str, str]) -> bool:
    try:
        return Marker(marker).evaluate(dict(env))
    except (PackagingInvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise InvalidMetadata(
            f"invalid enable-if marker {marker!r}: {exc}",
            path=f"providers.{ns}.enable-if",
            source=md.source,
        ) from exc


def _native_for(ns: str, info: ProviderInfo) -> Provider | None:
    from varwheel.providers.registry import native_provider_for

    return native_provider_for(ns, info)


def _all_native() -> tuple[Provider, ...]:
    from varwheel.providers.registry import all_native_providers

    return tuple(all_native_providers())


def _own_marker_env() -> dict[str, str]:
    from packaging.markers import default_environment

    return dict(default_environment())


def _items(values: Mapping[str, str | None]) -> tuple[tuple[str, str | None], ...]:
    return tuple(sorted(values.items(), key=lambda kv: kv[0]))


def _environ_digest() -> str:
    """Digest of the whole environment: third-party plugins' override variables are unknown."""
    return hashlib.sha256(json.dumps(sorted(os.environ.items())).encode()).hexdigest()


__all__ = [
    "DEFAULT_TIMEOUT",
    "FeatureConfig",
    "NamespaceResult",
    "ProviderOptions",
    "ProviderSession",
    "detect_support",
    "session_for",
]
