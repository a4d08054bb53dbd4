"""Trust that a project cannot move: where a trusted pin is installed from, and which bytes.

Real wheels, real plugin venvs and real HTTP indexes on 127.0.0.1: the user's index serves the
plugin the user trusted; a hostile project's index, extra index and find-links serve another
wheel under the same name and version, whose import would write a canary file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from packaging.markers import default_environment

from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel
from varwheel.cli.provider_options import add_provider_arguments
from varwheel.cli.selection_options import add_index_arguments, flags_from_args
from varwheel.config import Config, load_config
from varwheel.errors import ProviderError
from varwheel.providers.detect import ProviderOptions, ProviderSession
from varwheel.providers.pinlock import lock_path
from varwheel.providers.runner import PluginSource, ensure_plugin_env
from varwheel.providers.trust import parse_pin
from varwheel.settings import Settings
from varwheel.spec.model import ProviderInfo, VariantMetadata

pytestmark = pytest.mark.slow

PIN = "vw-pinme==1.0.0"
PLUGIN = """
import os

MARK = {mark!r}
if MARK == "evil" and os.environ.get("VW_EVIL_CANARY"):
    open(os.environ["VW_EVIL_CANARY"], "w").write("the substituted plugin ran\\n")


def get_all_configs():
    return [{{"name": "origin", "values": ["good", "evil"], "multi_value": False}}]


def get_supported_configs():
    return [{{"name": "origin", "values": [MARK], "multi_value": False}}]
"""
MD = VariantMetadata(
    namespace_priorities=("pinme",),
    providers={"pinme": ProviderInfo("pinme", requires=("vw-pinme>=1",), plugin_api="vw_pinme")},
)


def _wheel(dest: Path, mark: str) -> Path:
    return build_wheel(dest, "vw-pinme", "1.0.0", files={"vw_pinme.py": PLUGIN.format(mark=mark)})


def _simple_index(root: Path, wheel: Path) -> Path:
    """A PEP 503 index under ``root`` serving ``wheel`` (with its sha256 in the link)."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, files / wheel.name)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    project = root / "simple" / "vw-pinme"
    project.mkdir(parents=True, exist_ok=True)
    (project / "index.html").write_text(
        f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>\n'
    )
    (root / "simple" / "index.html").write_text('<a href="vw-pinme/">vw-pinme</a>\n')
    return root


@dataclass(frozen=True)
class Sites:
    good: LocalServer
    evil: LocalServer
    good_dir: Path  # a find-links directory with the good wheel
    evil_dir: Path  # a find-links directory with the evil wheel


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    base = tmp_path_factory.mktemp("trust-sites")
    good = _wheel(base / "good-wheels", "good")
    evil = _wheel(base / "evil-wheels", "evil")
    assert good.name == evil.name  # same distribution, same version, same file name
    with (
        serve_directory(_simple_index(base / "good-site", good)) as good_server,
        serve_directory(_simple_index(base / "evil-site", evil)) as evil_server,
    ):
        yield Sites(good_server, evil_server, good.parent, evil.parent)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_index_arguments(parser)
    add_provider_arguments(parser)
    return parser.parse_args(list(argv))


def _provider_options(args: argparse.Namespace, config: Config) -> ProviderOptions:
    """The provider options a command's flags and ``config`` give (``Settings``' merge)."""
    return Settings.load(flags_from_args(args), config=config).provider_options()


def _hostile_project(path: Path, sites: Sites) -> Path:
    evil = sites.evil.url + "simple/"
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(
        "[tool.varwheel]\n"
        f"index-url = {evil!r}\n"
        f"extra-index-url = [{evil!r}]\n"
        f"find-links = [{str(sites.evil_dir)!r}]\n"
        f"trusted-providers = ['vw-pinme==1.0.0']\n"  # ignored: a project cannot add trust
    )
    return path


def _detect(options: ProviderOptions) -> tuple[dict[str, tuple[str, ...]] | None, str]:
    support = ProviderSession(options).detect(MD, target_env=default_environment())
    return support.properties.get("pinme"), support.unavailable.get("pinme", "")


@pytest.mark.parametrize("user_index", ["config", "flag", "none"])
def test_a_project_cannot_move_where_a_trusted_pin_comes_from(
    sites: Sites,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    user_index: str,
) -> None:
    canary = tmp_path / "evil-ran"
    monkeypatch.setenv("VW_EVIL_CANARY", str(canary))
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    if user_index == "none":  # pip's own defaults apply: keep them off PyPI in a test
        monkeypatch.setenv("PIP_NO_INDEX", "1")
    user = tmp_path / "user" / "config.toml"
    user.parent.mkdir()
    user.write_text(
        f"trusted-providers = [{PIN!r}]\n"
        + (f"index-url = {sites.good.url + 'simple/'!r}\n" if user_index == "config" else "")
    )
    monkeypatch.setenv("VARWHEEL_CONFIG", str(user))
    monkeypatch.chdir(_hostile_project(tmp_path / "project", sites))
    config = load_config()
    assert config.index_url == sites.evil.url + "simple/"  # the project's packages: its index
    flags = ("--index-url", sites.good.url + "simple/") if user_index == "flag" else ()
    options = _provider_options(_args(*flags), config)
    sites.evil.stats.clear()

    properties, reason = _detect(options)

    if user_index == "none":  # no user index: pip's defaults (here: none), never the project's
        assert properties is None and "installing provider plugin vw-pinme==1.0.0" in reason
    else:
        assert properties == {"origin": ("good",)}, reason
    assert not canary.exists()
    assert sites.evil.stats.count() == 0  # the project's index was not even asked


def test_cli_and_user_config_index_options_are_the_users(tmp_path: Path) -> None:
    user = tmp_path / "u" / "config.toml"
    user.parent.mkdir()
    user.write_text("index-url = 'http://127.0.0.1:9/u/'\nfind-links = ['wheels', '/abs']\n")
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[tool.varwheel]\nindex-url = 'http://127.0.0.1:9/p/'\nfind-links = ['/p']\n"
        "extra-index-url = ['http://127.0.0.1:9/px/']\n"
    )
    config = load_config(cwd=project, environ={"VARWHEEL_CONFIG": str(user)})
    source = _provider_options(_args(), config).plugin_source
    assert source == PluginSource(
        index_url="http://127.0.0.1:9/u/", find_links=(str(user.parent / "wheels"), "/abs")
    )
    flags = _args("-i", "http://127.0.0.1:9/cli/", "-f", "/cli-wheels", "--no-index")
    assert _provider_options(flags, config).plugin_source == PluginSource(
        index_url="http://127.0.0.1:9/cli/", find_links=("/cli-wheels",), no_index=True
    )
    (tmp_path / "empty.toml").write_text("")
    alone = load_config(cwd=project, environ={"VARWHEEL_CONFIG": str(tmp_path / "empty.toml")})
    assert _provider_options(_args(), alone).plugin_source == PluginSource()


def test_the_same_pin_with_other_bytes_is_refused(sites: Sites, tmp_path: Path) -> None:
    pin = parse_pin(PIN)
    cache = tmp_path / "cache"
    good = PluginSource(index_url=sites.good.url + "simple/")
    env = ensure_plugin_env([pin], python=sys.executable, source=good, cache_root=cache)
    record = json.loads(lock_path(cache, "vw-pinme", "1.0.0").read_text())
    wheel = next(sites.good_dir.glob("*.whl"))
    assert record["wheels"] == {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}

    # the user switches index, and that index serves other bytes under the same pin
    for evil in (
        PluginSource(index_url=sites.evil.url + "simple/"),
        PluginSource(no_index=True, find_links=(str(sites.evil_dir),)),
    ):
        with pytest.raises(ProviderError) as caught:
            ensure_plugin_env([pin], python=sys.executable, source=evil, cache_root=cache)
        message = str(caught.value)
        assert message.startswith(f"provider plugin {PIN}: the wheel offered now ({wheel.name}")
        assert "is not the one installed when vw-pinme==1.0.0 was first trusted" in message
        assert "\n" not in message
    assert [p.name for p in (cache / "plugin-envs").iterdir()] == [env.name]  # nothing kept

    # the same bytes from another place are fine
    other = PluginSource(no_index=True, find_links=(str(sites.good_dir),))
    assert ensure_plugin_env([pin], python=sys.executable, source=other, cache_root=cache)

    # and through a session the refusal is one warning, the plugin never runs
    warnings: list[str] = []
    options = ProviderOptions(
        trusted=(PIN,),
        plugin_source=PluginSource(index_url=sites.evil.url + "simple/"),
        cache_dir=cache,
        on_warning=warnings.append,
    )
    properties, reason = _detect(replace(options))
    assert properties is None and "refusing other code behind the same pin" in reason
    assert len(warnings) == 1


def test_a_damaged_record_refuses_instead_of_trusting_anew(sites: Sites, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    record = lock_path(cache, "vw-pinme", "1.0.0")
    record.parent.mkdir(parents=True)
    record.write_text("{not json")
    with pytest.raises(ProviderError, match=r"recorded hashes .* are damaged; delete the file"):
        ensure_plugin_env(
            [parse_pin(PIN)],
            python=sys.executable,
            source=PluginSource(no_index=True, find_links=(str(sites.good_dir),)),
            cache_root=cache,
        )
    assert record.read_text() == "{not json"
