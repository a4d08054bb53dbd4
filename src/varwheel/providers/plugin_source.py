"""Where trusted provider plugins are installed from: the user's pip index options.

Its own small module so that reading the settings (which always carry one) does not import the
plugin runner."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PluginSource"]


@dataclass(frozen=True)
class PluginSource:
    """Where plugin distributions are installed from (pip options)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def pip_args(self) -> list[str]:
        args: list[str] = ["--no-index"] if self.no_index else []
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args
