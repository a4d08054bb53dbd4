"""Plugin worker: runs INSIDE an isolated plugin venv (stdlib only; varwheel is not installed).

Usage: ``python -I worker.py REQUEST.json RESPONSE.json``. The request lists every plugin query
for this venv, so one process answers them all::

    {"queries": [{"namespace": "toy", "plugin_api": "toy_variant_provider"}]}

The response maps each namespace to ``{"ok": true, "namespace": <declared or null>, "aot": bool,
"all": [config...], "supported": [config...]}`` or ``{"ok": false, "error": "one line"}``, where a
config is ``{"name": str, "values": [str], "multi_value": bool}``. Results travel through the
response file, and fd 1 is pointed at fd 2 before any plugin is imported, so a plugin that prints
cannot corrupt the exchange (variantlib uses stdout, peers.md §5.16).

Both plugin API generations are accepted (providers.md §1): v0.2.x objects (module or class
with ``get_all_configs``/``get_supported_configs``, optional ``all_properties_compatible``) and
v0.0.x ones (``namespace`` attribute, ``is_aot_plugin``/``is_build_plugin``; v0.0.1 classes
with instance methods are instantiated).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from typing import Any

_AOT_FLAGS = ("all_properties_compatible", "is_aot_plugin", "is_build_plugin")


class PluginFault(Exception):
    """A plugin broke the protocol; the message is one line for the user."""


_PROVIDED: set[str] | None = None


def _check_provided(module_name: str) -> None:
    """Import only modules that an installed (i.e. trusted, pinned) distribution provides.

    ``plugin-api`` comes from downloaded metadata: without this check it could name any stdlib
    module (``antigravity`` opens a browser) or a relative/odd name.
    """
    global _PROVIDED
    if _PROVIDED is None:
        try:
            from importlib.metadata import packages_distributions
        except ImportError:  # pragma: no cover - Python < 3.10 target
            return
        _PROVIDED = set(packages_distributions())
    top = module_name.split(".", 1)[0]
    if not top.isidentifier() or top not in _PROVIDED:
        raise PluginFault(
            f"plugin-api module {module_name!r} is not provided by the trusted plugin distributions"
        )


def resolve(reference: str) -> Any:
    """``module.sub(:attr.path)?`` (PEP 817 §"API endpoint"; spaces around ``:`` tolerated)."""
    module_name, _, attr_path = (part.strip() for part in reference.partition(":"))
    _check_provided(module_name)
    obj: Any = importlib.import_module(module_name)
    for attr in filter(None, attr_path.split(".")):
        obj = getattr(obj, attr)
    if inspect.isclass(obj) and _needs_instance(obj):
        obj = obj()
    return obj


def _needs_instance(cls: type) -> bool:
    method = inspect.getattr_static(cls, "get_supported_configs", None)
    return inspect.isfunction(method)  # a plain function on a class is an instance method


def _config(item: Any, where: str) -> dict[str, Any]:
    get = (
        item.get
        if isinstance(item, dict)
        else lambda key, default=None: getattr(item, key, default)
    )
    name = get("name")
    values = get("values")
    multi_value = get("multi_value", False)
    if not isinstance(name, str):
        raise PluginFault(f"{where}.name must be a str, got {type(name).__name__}")
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise PluginFault(f"{where}.values must be a list of str, got {values!r:.80}")
    if not isinstance(multi_value, bool):
        raise PluginFault(f"{where}.multi_value must be a bool, got {type(multi_value).__name__}")
    return {"name": name, "values": list(values), "multi_value": multi_value}


def _call(plugin: Any, method: str) -> list[dict[str, Any]]:
    func = getattr(plugin, method, None)
    if not callable(func):
        raise PluginFault(f"plugin has no callable {method}()")
    result = func()
    if not isinstance(result, (list, tuple)):
        raise PluginFault(f"{method}() must return a list, got {type(result).__name__}")
    return [_config(item, f"{method}()[{i}]") for i, item in enumerate(result)]


def answer(query: dict[str, Any]) -> dict[str, Any]:
    plugin = resolve(str(query["plugin_api"]))
    declared = getattr(plugin, "namespace", None)
    if declared is not None and not isinstance(declared, str):
        raise PluginFault(f"namespace attribute must be a str, got {type(declared).__name__}")
    aot = any(getattr(plugin, flag, False) is True for flag in _AOT_FLAGS)
    return {
        "ok": True,
        "namespace": declared,
        "aot": aot,
        "all": _call(plugin, "get_all_configs"),
        "supported": _call(plugin, "get_supported_configs"),
    }


def _one_line(exc: BaseException) -> str:
    try:
        text = " ".join(str(exc)[:10_000].split()) or type(exc).__name__
    except Exception:  # a plugin's exception whose str() fails (or holds a 4300+ digit int)
        text = "(unprintable exception)"
    prefix = "" if isinstance(exc, PluginFault) else f"{type(exc).__name__}: "
    return (prefix + text)[:300]


def main(argv: list[str]) -> int:
    request_path, response_path = argv[1], argv[2]
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    os.dup2(2, 1)  # plugin prints land on stderr, never in the protocol
    sys.stdout = sys.stderr
    results: dict[str, Any] = {}
    for query in request["queries"]:
        try:
            results[query["namespace"]] = answer(query)
        except BaseException as exc:  # a plugin may raise anything, SystemExit included
            results[query["namespace"]] = {"ok": False, "error": _one_line(exc)}
    tmp = response_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"results": results}, handle)
    os.replace(tmp, response_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
