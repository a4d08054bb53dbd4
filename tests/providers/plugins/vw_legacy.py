"""Plugin API generations as classes (providers.md §1).

``V003Plugin``: v0.0.3 (PEP 817) class with ``namespace``, ``is_aot_plugin`` and classmethods.
``V001Plugin``: v0.0.1 class whose methods are instance methods (must be instantiated).
``V02Plugin``: v0.2.x class with staticmethods and ``all_properties_compatible``.
"""

from __future__ import annotations

from _configs import Config


class V003Plugin:
    namespace = "legacy"
    is_aot_plugin = False

    @classmethod
    def get_all_configs(cls) -> list[Config]:
        return [Config("gen", ["three", "two", "one"])]

    @classmethod
    def get_supported_configs(cls) -> list[Config]:
        return [Config("gen", ["three", "one"])]


class V001Plugin:
    namespace = "oldest"

    def __init__(self) -> None:
        self._values = ["one"]

    def get_all_configs(self) -> list[dict[str, object]]:
        return [{"name": "gen", "values": ["one", "two"]}]

    def get_supported_configs(self) -> list[dict[str, object]]:
        return [{"name": "gen", "values": list(self._values)}]


class V02Plugin:
    all_properties_compatible = True

    @staticmethod
    def get_all_configs() -> list[Config]:
        return [Config("gen", ["two"])]

    @staticmethod
    def get_supported_configs() -> list[Config]:
        return [Config("gen", ["two"])]
