"""Settings like pip and uv: ``VARWHEEL_*`` variables, pip's and uv's index settings as
fallbacks, named indexes with per-project pins, and the HTTP transport options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.http_server import serve_directory
from helpers.wheels import build_wheel
from varwheel.config import Config, InvalidConfig, NamedIndex, load_config
from varwheel.errors import InvalidInput
from varwheel.index.static import write_static_index
from varwheel.settings import DEFAULT_INDEX_URL, Flags, Settings

PYPI = DEFAULT_INDEX_URL


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with no pip or uv settings, no user config and no .netrc."""
    (tmp_path / "config.toml").write_text("")
    (tmp_path / "proj").mkdir()
    return {
        "HOME": str(tmp_path / "home"),
        "VARWHEEL_CONFIG": str(tmp_path / "config.toml"),
        "VARWHEEL_CACHE_DIR": str(tmp_path / "cache"),
        "PIP_CONFIG_FILE": os.devnull,
        "XDG_CONFIG_DIRS": str(tmp_path / "no-xdg"),
    }


def _load(tmp_path: Path, env: dict[str, str], flags: Flags | None = None) -> Settings:
    cwd = tmp_path / "proj"
    return Settings.load(flags, config=load_config(cwd=cwd, environ=env), environ=env, cwd=cwd)


def _load_with_fallbacks(
    tmp_path: Path, env: dict[str, str], flags: Flags | None = None
) -> Settings:
    return Settings.load(flags, environ=env, cwd=tmp_path / "proj")


# -- VARWHEEL_* ---------------------------------------------------------------------------


def test_every_config_key_has_a_varwheel_variable(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "cert.pem").write_text("x")
    env.update(
        {
            "VARWHEEL_INDEX_URL": "https://env.example/simple/",
            "VARWHEEL_EXTRA_INDEX_URL": "https://a.example/simple/  https://b.example/simple/",
            "VARWHEEL_FIND_LINKS": "/opt/w1 /opt/w2",
            "VARWHEEL_PREFER": "x86_64 :: level :: v3, blas :: library :: mkl",
            "VARWHEEL_FORBID": "nvidia",
            "VARWHEEL_NO_VARIANTS": "yes",
            "VARWHEEL_INDEX_STRATEGY": "unsafe-best-match",
            "VARWHEEL_PROVIDER_TIMEOUT": "2.5",
            "VARWHEEL_STRICT_PROVIDERS": "1",
            "VARWHEEL_ENABLE_PROVIDERS": "nvidia",
            "VARWHEEL_INDEX": "pytorch=https://download.pytorch.org/whl/cu128",
            "VARWHEEL_INDEX_FOR": "torch=pytorch",
            "VARWHEEL_KEYRING_PROVIDER": "subprocess",
            "VARWHEEL_CERT": str(tmp_path / "cert.pem"),
            "VARWHEEL_TIMEOUT": "7",
            "VARWHEEL_RETRIES": "0",
        }
    )
    s = _load(tmp_path, env)
    assert s.index_url == "https://env.example/simple/"
    assert s.extra_index_urls == ("https://a.example/simple/", "https://b.example/simple/")
    assert s.find_links == ("/opt/w1", "/opt/w2")
    prefs = s.selection_preferences()
    assert [str(p) for p in prefs.prefer] == ["x86_64 :: level :: v3", "blas :: library :: mkl"]
    assert prefs.forbid == ("nvidia",) and not prefs.variants_enabled
    assert s.index_strategy == "unsafe-best-match"
    assert s.provider_timeout == 2.5 and s.strict_providers
    assert s.enable_providers == ("nvidia",)
    assert s.indexes == (NamedIndex("pytorch", "https://download.pytorch.org/whl/cu128"),)
    assert dict(s.index_for) == {"torch": "https://download.pytorch.org/whl/cu128"}
    assert s.keyring_provider == "subprocess" and s.cert == str(tmp_path / "cert.pem")
    assert (s.timeout, s.retries) == (7.0, 0)


def test_precedence_flags_over_environment_over_project_over_user(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "config.toml").write_text('index-url = "https://user.example/simple/"\n')
    s = _load(tmp_path, env)
    assert s.index_url == "https://user.example/simple/"
    (tmp_path / "proj" / "pyproject.toml").write_text(
        '[tool.varwheel]\nindex-url = "https://project.example/simple/"\n'
    )
    assert _load(tmp_path, env).index_url == "https://project.example/simple/"
    env["VARWHEEL_INDEX_URL"] = "https://env.example/simple/"
    assert _load(tmp_path, env).index_url == "https://env.example/simple/"
    flags = Flags(index_url="https://flag.example/simple/")
    assert _load(tmp_path, env, flags).index_url == "https://flag.example/simple/"


def test_a_bad_variable_is_one_error_naming_it(tmp_path: Path, env: dict[str, str]) -> None:
    env["VARWHEEL_NO_VARIANTS"] = "maybe"
    with pytest.raises(InvalidConfig, match=r"\$VARWHEEL_NO_VARIANTS: no-variants: expected 1/0"):
        _load(tmp_path, env)
    del env["VARWHEEL_NO_VARIANTS"]
    env["VARWHEEL_TIMEOUT"] = "soon"
    with pytest.raises(InvalidConfig, match=r"\$VARWHEEL_TIMEOUT: timeout: not a number"):
        _load(tmp_path, env)


def test_environment_index_options_are_the_users_for_trusted_plugins(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env["VARWHEEL_INDEX_URL"] = "https://env.example/simple/"
    s = _load(tmp_path, env)
    assert s.plugin_source is not None
    assert s.plugin_source.index_url == "https://env.example/simple/"


# -- pip's and uv's settings as fallbacks ----------------------------------------------------


def test_pip_index_variables_are_a_fallback(tmp_path: Path, env: dict[str, str]) -> None:
    env["PIP_INDEX_URL"] = "https://pip.example/simple/"
    env["PIP_EXTRA_INDEX_URL"] = "https://pip-extra.example/simple/"
    s = _load_with_fallbacks(tmp_path, env)
    assert s.index_url == "https://pip.example/simple/"
    assert s.extra_index_urls == ("https://pip-extra.example/simple/",)
    assert "PIP_INDEX_URL" in s.index_origin
    # an index location of varwheel's own replaces pip's lists; pip's index-url (a mirror)
    # stays the default index, as in pip and uv (only varwheel's index-url replaces it)
    pip_url = "https://pip.example/simple/"
    (tmp_path / "config.toml").write_text('extra-index-url = ["https://mine.example/simple/"]\n')
    s = _load_with_fallbacks(tmp_path, env)
    assert (s.index_url, s.extra_index_urls) == (pip_url, ("https://mine.example/simple/",))
    (tmp_path / "config.toml").write_text("")
    s = _load_with_fallbacks(tmp_path, env, Flags(find_links=("/opt/wheels",)))
    assert (s.index_url, s.extra_index_urls) == (pip_url, ())
    (tmp_path / "config.toml").write_text('index-url = "https://mine.example/simple/"\n')
    assert _load_with_fallbacks(tmp_path, env).index_url == "https://mine.example/simple/"


def test_pip_conf_global_and_install_sections(tmp_path: Path, env: dict[str, str]) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nindex-url = https://global.example/simple/\ntimeout = 12\n"
        "extra-index-url =\n    https://x1.example/simple/\n    https://x2.example/simple/\n"
        "[install]\nindex-url = https://install.example/simple/\n"
    )
    env["PIP_CONFIG_FILE"] = str(conf)
    s = _load_with_fallbacks(tmp_path, env)
    assert s.index_url == "https://install.example/simple/"
    assert s.extra_index_urls == ("https://x1.example/simple/", "https://x2.example/simple/")
    assert s.timeout == 12.0
    env["PIP_INDEX_URL"] = "https://var.example/simple/"  # PIP_* over pip.conf, as in pip
    assert _load_with_fallbacks(tmp_path, env).index_url == "https://var.example/simple/"


def test_user_pip_conf_and_devnull(tmp_path: Path, env: dict[str, str]) -> None:
    user_conf = tmp_path / "home" / ".config" / "pip" / "pip.conf"
    user_conf.parent.mkdir(parents=True)
    user_conf.write_text("[global]\nfind-links = /opt/pip-wheels\n")
    del env["PIP_CONFIG_FILE"]
    s = _load_with_fallbacks(tmp_path, env)
    assert s.find_links == ("/opt/pip-wheels",)
    env["PIP_CONFIG_FILE"] = os.devnull
    assert _load_with_fallbacks(tmp_path, env).find_links == ()


def test_a_broken_pip_conf_is_a_warning(tmp_path: Path, env: dict[str, str]) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("index-url = no section\n")
    env["PIP_CONFIG_FILE"] = str(conf)
    s = _load_with_fallbacks(tmp_path, env)
    assert s.index_url == PYPI
    assert any(str(conf) in w and "ignored" in w for w in s.warnings)


@pytest.mark.parametrize("var", ["UV_DEFAULT_INDEX", "UV_INDEX_URL"])
def test_uv_default_index(tmp_path: Path, env: dict[str, str], var: str) -> None:
    env[var] = "https://uv.example/simple/"
    env["PIP_INDEX_URL"] = "https://pip.example/simple/"  # uv's set wins whole
    s = _load_with_fallbacks(tmp_path, env)
    assert s.index_url == "https://uv.example/simple/" and var in s.index_origin


def test_uv_index_and_extra_index_url(tmp_path: Path, env: dict[str, str]) -> None:
    env["UV_INDEX"] = "pytorch=https://download.pytorch.org/whl/cu128 https://other.example/simple/"
    env["UV_EXTRA_INDEX_URL"] = "https://extra.example/simple/"
    s = _load_with_fallbacks(tmp_path, env)
    assert s.indexes == (
        NamedIndex("pytorch", "https://download.pytorch.org/whl/cu128"),
        NamedIndex("other.example", "https://other.example/simple/"),
    )
    assert s.extra_index_urls == ("https://extra.example/simple/",)
    with s.index_client() as client:  # uv's order: UV_INDEX before the default index
        assert client.index_urls[:3] == (
            "https://download.pytorch.org/whl/cu128/",
            "https://other.example/simple/",
            PYPI,
        )


def test_pip_transport_settings_only_where_varwheel_says_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env.update({"PIP_DEFAULT_TIMEOUT": "180", "PIP_RETRIES": "9", "UV_HTTP_TIMEOUT": "60"})
    s = _load_with_fallbacks(tmp_path, env)
    assert (s.timeout, s.retries) == (60.0, 9)  # uv's over pip's
    (tmp_path / "config.toml").write_text("timeout = 5\n")
    assert _load_with_fallbacks(tmp_path, env).timeout == 5.0


def test_commands_without_configuration_ignore_pip_settings(env: dict[str, str]) -> None:
    env["PIP_INDEX_URL"] = "https://pip.example/simple/"
    assert Settings.from_flags(Flags(), environ=env).index_url == PYPI


# -- named indexes and pins ------------------------------------------------------------------


def test_named_index_and_pin_in_project_config(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "proj" / "pyproject.toml").write_text(
        "[[tool.varwheel.index]]\n"
        'name = "pytorch"\nurl = "https://download.pytorch.org/whl/cu128"\nexplicit = true\n'
        '[tool.varwheel.index-for]\ntorch = "pytorch"\ntorchvision = { index = "pytorch" }\n'
    )
    s = _load(tmp_path, env)
    url = "https://download.pytorch.org/whl/cu128"
    assert dict(s.index_for) == {"torch": url, "torchvision": url}
    with s.index_client() as client:
        assert client.index_urls == (PYPI,)  # explicit: never searched for other projects
        assert client.project_indexes == {"torch": (url + "/",), "torchvision": (url + "/",)}


def test_index_for_an_unknown_name_is_one_error(tmp_path: Path, env: dict[str, str]) -> None:
    flags = Flags(indexes=("pytorch=https://x.example/simple/",), index_for=("torch=pytroch",))
    with pytest.raises(
        InvalidInput,
        match=r"--index-for torch=pytroch: no index named 'pytroch' \(named: pytorch\)",
    ):
        _load(tmp_path, env, flags)
    with pytest.raises(InvalidConfig, match="expected PROJECT=INDEX"):
        _load(tmp_path, env, Flags(index_for=("torch",)))


@pytest.mark.parametrize(
    "table",
    [
        '[[index]]\nurl = "https://x.example/"\n',
        '[[index]]\nname = "a b"\nurl = "https://x.example/"\n',
        '[[index]]\nname = "a"\nurl = "https://x.example/"\ndefault = true\n',
        "index-for = 3\n",
        'keyring-provider = "auto"\n',
        "retries = -1\n",
    ],
)
def test_bad_index_keys_are_errors_naming_the_file(
    tmp_path: Path, env: dict[str, str], table: str
) -> None:
    (tmp_path / "config.toml").write_text(table)
    with pytest.raises(InvalidConfig, match=str(tmp_path / "config.toml")):
        _load(tmp_path, env)


def test_a_pinned_project_comes_only_from_its_index(tmp_path: Path, env: dict[str, str]) -> None:
    """'torch from the variant index, everything else from PyPI' — with first-index, the
    general index that also lists torch is never even asked for it."""
    plain = build_wheel(tmp_path / "plain", "torch", "2.9.1", files={"torch/a.py": ""})
    variant_wheel = build_wheel(tmp_path / "variant", "torch", "2.9.0", files={"torch/a.py": ""})
    other = build_wheel(tmp_path / "plain", "numpy", "2.0.0", files={"numpy/a.py": ""})
    general = write_static_index([plain, other], tmp_path / "general")
    variants = write_static_index([variant_wheel], tmp_path / "variants")
    with serve_directory(general) as pypi, serve_directory(variants) as vidx:
        flags = Flags(
            index_url=pypi.url + "simple/",
            indexes=(f"pytorch={vidx.url}simple/",),
            index_for=("torch=pytorch",),
        )
        s = _load(tmp_path, env, flags)
        with s.index_client() as client:
            torch = client.project_files("torch")
            numpy = client.project_files("numpy")
        assert {f.filename for f in torch} == {variant_wheel.name}
        assert {f.filename for f in numpy} == {other.name}
        assert pypi.stats.count("/simple/torch/") == 0
        assert vidx.stats.count("/simple/numpy/") == 1  # --index NAME=URL is searched too
        # a URL directly, no name needed; explicit entries are not searched for numpy
        flags = Flags(index_url=pypi.url + "simple/", index_for=(f"torch={vidx.url}simple/",))
        vidx.stats.clear()
        with _load(tmp_path, env, flags).index_client() as client:
            assert {f.filename for f in client.project_files("torch")} == {variant_wheel.name}
            client.project_files("numpy")
        assert vidx.stats.count("/simple/numpy/") == 0


# -- transport -------------------------------------------------------------------------------


def test_cert_files_must_exist(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match=r"--cert /nope/ca.pem: no such file"):
        _load(tmp_path, env, Flags(cert="/nope/ca.pem"))
    with pytest.raises(InvalidInput, match=r"--client-cert /nope/me.pem: no such file"):
        _load(tmp_path, env, Flags(client_cert="/nope/me.pem"))


def test_timeout_and_retries_reach_the_http_session(tmp_path: Path, env: dict[str, str]) -> None:
    s = _load(tmp_path, env, Flags(timeout=3.0, retries=1))
    with s.index_client() as client:
        timeout, retries, _backoff, _pool = client.session._settings
    assert (timeout, retries) == (3.0, 1)
    with pytest.raises(InvalidInput, match="--timeout: must be a positive"):
        _load(tmp_path, env, Flags(timeout=0.0))


def test_config_defaults_are_unchanged(tmp_path: Path, env: dict[str, str]) -> None:
    s = Settings.load(config=Config(), environ=env)
    assert (s.index_url, s.indexes, dict(s.index_for)) == (PYPI, (), {})
    assert (s.keyring_provider, s.timeout, s.retries, s.cert) == ("disabled", 30.0, 3, None)


def test_unnamed_indexes_on_one_host_get_distinct_names(
    tmp_path: Path, env: dict[str, str]
) -> None:
    flags = Flags(
        indexes=("https://h.example/a/", "https://h.example/b/", "x=https://h.example/c/")
    )
    s = _load(tmp_path, env, flags)
    assert [i.name for i in s.indexes] == ["h.example", "h.example-2", "x"]
    env["VARWHEEL_INDEX"] = "https://h.example/a/ https://h.example/b/"
    assert [i.name for i in _load(tmp_path, env).indexes] == ["h.example", "h.example-2"]
