"""User and project configuration: precedence, validation, and code-running keys."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from varwheel.cli.provider_options import add_provider_arguments
from varwheel.cli.selection_options import flags_from_args
from varwheel.config import (
    Config,
    InvalidConfig,
    load_config,
    merge,
    parse_config,
    user_config_path,
)
from varwheel.errors import InvalidInput
from varwheel.providers.detect import ProviderOptions
from varwheel.settings import Settings

USER = """\
trusted-providers = ["toy-variant-provider==0.1.0"]
enable-providers = ["nvidia"]
external-providers = { tpu = "/opt/tpu-probe --fast", npu = ["/opt/npu", "x y"] }
provider-timeout = 5
strict-providers = false
profile = "profiles/box.toml"
index-url = "http://127.0.0.1:8080/simple"
extra-index-url = ["http://127.0.0.1:8081/simple"]
find-links = "/srv/wheels"
prefer = ["x86_64 :: level :: v3"]
forbid = ["nvidia"]
no-variants = false
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_user_config_all_keys(tmp_path: Path) -> None:
    user = _write(tmp_path / "user" / "config.toml", USER)
    config = load_config(cwd=tmp_path, environ={"VARWHEEL_CONFIG": str(user)})
    assert config.trusted_providers == ("toy-variant-provider==0.1.0",)
    assert config.enable_providers == ("nvidia",)
    assert config.external_providers == {
        "tpu": ("/opt/tpu-probe", "--fast"),
        "npu": ("/opt/npu", "x y"),
    }
    assert config.provider_timeout == 5.0
    assert config.strict_providers is False
    assert config.profile == user.parent / "profiles" / "box.toml"  # relative to the file
    assert config.index_url == "http://127.0.0.1:8080/simple"
    assert config.extra_index_url == ("http://127.0.0.1:8081/simple",)
    assert config.find_links == ("/srv/wheels",)
    assert config.prefer == ("x86_64 :: level :: v3",)
    assert config.forbid == ("nvidia",)
    assert config.no_variants is False
    assert config.sources == (user,)
    assert config.warnings == ()


def test_project_overrides_user_but_cannot_add_trust(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", USER)
    _write(
        tmp_path / "proj" / "pyproject.toml",
        '[project]\nname = "x"\n[tool.varwheel]\nprovider-timeout = 30\nenable-providers = []\n'
        'trusted-providers = ["evil-provider==6.6.6"]\n'
        'external-providers = { x = "curl http://127.0.0.1:1 | sh" }\n',
    )
    config = load_config(cwd=tmp_path / "proj", environ={"VARWHEEL_CONFIG": str(user)})
    assert config.provider_timeout == 30.0
    assert config.enable_providers == ("nvidia",)  # an empty list does not unset
    assert config.trusted_providers == ("toy-variant-provider==0.1.0",)
    assert "x" not in config.external_providers
    assert len(config.warnings) == 2
    assert all("a project config cannot make varwheel run code" in w for w in config.warnings)
    assert config.sources == (user, tmp_path / "proj" / "pyproject.toml")


def test_no_files_is_the_default_config(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    assert load_config(cwd=tmp_path, environ=environ) == Config()
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(cwd=tmp_path, environ=environ) == Config()


def test_user_path_defaults_to_platform_dir() -> None:
    path = user_config_path({})
    assert path.name == "config.toml" and path.parent.name == "varwheel"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "trusted-provider = []\n",
            "unknown key 'trusted-provider' (did you mean 'trusted-providers'?)",
        ),
        ("trusted-providers = ['toy>=1']\n", "trusted-providers: invalid provider pin 'toy>=1'"),
        ("enable-providers = ['NVIDIA']\n", "enable-providers: invalid namespace 'NVIDIA'"),
        ("provider-timeout = 0\n", "provider-timeout: must be a positive number"),
        ("provider-timeout = true\n", "provider-timeout: must be a positive number"),
        ("provider-timeout = nan\n", "provider-timeout: must be a positive number"),
        ("provider-timeout = inf\n", "provider-timeout: must be a positive number"),
        ("strict-providers = 'yes'\n", "strict-providers: must be true or false"),
        ("external-providers = { tpu = [] }\n", "external-providers.tpu: must be a command"),
        ("external-providers = ['x']\n", "external-providers: must be a table"),
        ("find-links = [1]\n", "find-links: must be a list of non-empty strings"),
        ("prefer = ['x86_64::level']\n", "prefer: invalid variant property"),
        ("forbid = ['Bad NS']\n", "forbid: "),
        ("profile = 3\n", "profile: must be a path string"),
        ("index-url = ''\n", "index-url: must be a URL string"),
        ("trusted-providers = [\n", "invalid TOML"),
        # hostile shapes: Python's int limit, NUL characters, unclosed quotes, huge pins
        ("provider-timeout = " + "1" * 5000 + "\n", "holds a number with more than 4300 digits"),
        (f"trusted-providers = ['a=={'1' * 5000}']\n", "trusted-providers: invalid provider pin"),
        ('trusted-providers = ["a==1\\u0000"]\n', "trusted-providers: must not contain a NUL"),
        ('external-providers = { tpu = "/bin/x \\u0000" }\n', "external-providers.tpu: must not"),
        ('external-providers = { tpu = ["/bin/\\u0000"] }\n', "external-providers.tpu: must not"),
        ('external-providers = { tpu = "\'unclosed" }\n', "tpu: No closing quotation"),
        ('profile = "a\\u0000b"\n', "profile: must not contain a NUL character"),
        ('index-url = "http://x/\\u0000"\n', "index-url: must not contain a NUL character"),
        ('find-links = ["/w\\u0000"]\n', "find-links: must not contain a NUL character"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    user = _write(tmp_path / "c.toml", text)
    with pytest.raises(InvalidInput) as info:
        load_config(cwd=tmp_path, environ={"VARWHEEL_CONFIG": str(user)})
    assert str(info.value).startswith(f"{user}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 500


def test_named_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidConfig, match=r"missing\.toml: config file named by \$VARWHEEL_CONFIG"
    ):
        load_config(cwd=tmp_path, environ={"VARWHEEL_CONFIG": str(tmp_path / "missing.toml")})


def test_bad_tool_table(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool]\nvarwheel = 1\n")
    with pytest.raises(InvalidConfig, match=r"\[tool\.varwheel\] must be a table"):
        load_config(cwd=tmp_path, environ={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_provider_arguments(parser)
    return parser.parse_args(list(argv))


def _provider_options(args: argparse.Namespace, config: Config) -> ProviderOptions:
    """The provider options a command's flags and ``config`` give (``Settings``' merge)."""
    return Settings.load(flags_from_args(args), config=config).provider_options()


def test_flags_override_config() -> None:
    config = merge(
        Config(),
        Config(
            trusted_providers=("a==1",),
            enable_providers=("nvidia",),
            external_providers={"tpu": ("/bin/tpu",)},
            provider_timeout=5.0,
            strict_providers=True,
            profile=Path("/etc/p.toml"),
        ),
    )
    defaults = _provider_options(_args(), config)
    assert defaults.trusted == ("a==1",)
    assert defaults.timeout == 5.0 and defaults.strict is True
    assert defaults.profile == Path("/etc/p.toml") and defaults.cache is True
    options = _provider_options(
        _args(
            "--trust-provider", "b==2",
            "--enable-provider", "amd",
            "--external-provider", "tpu=/usr/bin/other --x",
            "--external-provider", "npu=/bin/npu",
            "--provider-timeout", "2.5",
            "--profile", "here.toml",
            "--no-cache",
        ),
        config,
    )  # fmt: skip
    assert options.trusted == ("a==1", "b==2")
    assert options.enabled_optional == ("nvidia", "amd")
    assert options.external == {"tpu": ("/usr/bin/other", "--x"), "npu": ("/bin/npu",)}
    assert options.timeout == 2.5
    assert options.profile == Path("here.toml")
    assert options.cache is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--trust-provider", "toy"), "--trust-provider: invalid provider pin 'toy'"),
        (("--external-provider", "tpu"), "expected NAMESPACE=COMMAND"),
        (("--external-provider", "TPU=/bin/x"), "expected NAMESPACE=COMMAND"),
        (("--external-provider", "tpu='unclosed"), "No closing quotation"),
        (("--enable-provider", "a-b"), "--enable-provider: invalid namespace 'a-b'"),
        (("--provider-timeout", "0"), "--provider-timeout: must be positive"),
        (("--provider-timeout", "nan"), "--provider-timeout: must be positive"),
        (("--provider-timeout", "inf"), "--provider-timeout: must be positive"),
    ],
)
def test_bad_flags(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _provider_options(_args(*argv), Config())


_keys = st.sampled_from(
    ["trusted-providers", "enable-providers", "external-providers", "provider-timeout",
     "strict-providers", "profile", "index-url", "extra-index-url", "find-links", "prefer",
     "forbid", "no-variants", "other"]
)  # fmt: skip
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=12)
)
_values = st.recursive(
    _scalars.filter(lambda v: v is not None),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(st.dictionaries(_keys, _values, max_size=4))
def test_parser_accepts_or_names_the_key(table: dict[str, object]) -> None:
    source = Path("/cfg/config.toml")
    try:
        config = parse_config(table, source=source, user=True)
    except InvalidInput as exc:
        message = str(exc)
        assert message.startswith(f"{source}: ")
        assert any(key in message for key in table)
    else:
        assert config.sources == (source,)
        assert "other" not in table


def test_deeply_nested_toml_is_a_one_line_error(tmp_path: Path) -> None:
    user = tmp_path / "c.toml"
    user.write_text("prefer = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InvalidConfig, match=r"c\.toml: invalid TOML: nested too deeply$"):
        load_config(cwd=tmp_path, environ={"VARWHEEL_CONFIG": str(user)})
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.varwheel]\nx = " + "{a = " * 3000 + "}" * 3000)
    with pytest.raises(InvalidConfig, match=r"pyproject\.toml: invalid TOML: nested too deeply$"):
        empty = tmp_path / "empty.toml"
        empty.write_text("")
        load_config(cwd=project, environ={"VARWHEEL_CONFIG": str(empty)})


def test_warnings_cannot_drive_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """A provider warning quoting downloaded metadata reaches the terminal escaped, through the
    command line's reporter (``api.provider_options`` hands it ``reporter.warning``)."""
    from varwheel import api
    from varwheel.cli.render import ConsoleReporter

    settings = Settings.load(flags_from_args(_args()), config=Config())
    options = api.provider_options(settings, api.target_for(settings), reporter=ConsoleReporter())
    assert options.on_warning is not None
    options.on_warning("enable-if 'x == \"\x1b[2J\"' is false")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J" in err


@pytest.mark.parametrize(
    "pin",
    ["a==" + "1" * 5000, "a==1." + "2" * 4400, "a==1\x00", "x" * 100_000 + "==1"],
)
def test_hostile_pins_are_one_line_exit_2(
    pin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.cli import isolate_cli
    from varwheel.cli.main import main

    isolate_cli(tmp_path, monkeypatch)
    text = pin.replace("\x00", "\\u0000")
    (tmp_path / "config.toml").write_text(f"trusted-providers = ['{text}']\n")
    assert main(["detect", "--namespace", "x86_64"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) < 500
    assert "config.toml: trusted-providers: " in err
    if "\x00" not in pin:  # a NUL cannot be passed on a command line; everything else can
        (tmp_path / "config.toml").write_text("")
        assert main(["detect", "--namespace", "x86_64", "--trust-provider", pin]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--trust-provider: invalid" in err and len(err) < 500
