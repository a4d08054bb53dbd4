"""``cli/selection_options.py``: the settings a command builds from its flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.cli import isolate_cli
from helpers.envs import make_venv, venv_python
from varwheel import api
from varwheel.cli.main import build_parser
from varwheel.cli.selection_options import flags_from_args
from varwheel.codes import SupportSource
from varwheel.errors import InvalidInput
from varwheel.providers.detect import NamespaceResult
from varwheel.providers.support import explain_empty_answers
from varwheel.spec.selection import SupportedProperties


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def test_plugins_target_the_target_interpreter(tmp_path: Path) -> None:
    """Trusted plugin venvs are built for (and answer about) the environment being installed
    into; for another machine (cross-target flags) there is no interpreter to use."""
    venv = make_venv(tmp_path / "venv")
    parser = build_parser("install")
    args = parser.parse_args(["install", "--python", str(venv), "--no-index", "anything"])
    settings = api.Settings.load(flags_from_args(args))
    env = api.find_environment(settings)
    options = api.provider_options(settings, api.target_for(settings, env))
    assert options.target_python == str(env.python)
    assert Path(options.target_python).parent == venv_python(venv).parent
    assert settings.index_client().index_strategy == "first-index"

    cross = ["--dry-run", "--python-version", "3.12", "--index-strategy", "unsafe-best-match"]
    args = parser.parse_args(["install", "--python", str(venv), *cross, "--no-index", "anything"])
    settings = api.Settings.load(flags_from_args(args))
    target = api.target_for(settings, api.find_environment(settings))
    assert target.is_cross and target.python_version == "3.12"
    assert api.provider_options(settings, target).target_python is None
    with settings.index_client() as client:
        assert client.index_strategy == "unsafe-best-match"


NATIVE = SupportSource.NATIVE


def test_empty_answers_get_the_providers_reason() -> None:
    detected = SupportedProperties(
        {"nvidia": {}, "x86_64": {"level": ("v2", "v1")}, "amd": {}},
        {"intel": "optional provider 'intel' is not enabled"},
    )
    results = [
        NamespaceResult("nvidia", "native provider 'nvidia' 0.0.2", {}, kind=NATIVE),
        NamespaceResult(
            "x86_64", "native provider 'x86_64' 0.0.2", {"level": ("v2", "v1")}, kind=NATIVE
        ),
        NamespaceResult("amd", "profile gpu.toml", {}, kind=SupportSource.PROFILE),
    ]
    out = explain_empty_answers(detected, results)
    assert out.properties == detected.properties
    assert out.unavailable["intel"] == detected.unavailable["intel"]
    assert out.unavailable["nvidia"].startswith("native provider 'nvidia' 0.0.2: no NVIDIA GPU")
    assert out.unavailable["amd"] == "profile gpu.toml lists no supported properties"
    assert "x86_64" not in out.unavailable
    plain = SupportedProperties({"x86_64": {"level": ("v1",)}})
    assert explain_empty_answers(plain, results) is plain


def test_requirements_from_args_leaves_args_unchanged(tmp_path: Path) -> None:
    """Parsing returns a merged copy; the caller's namespace keeps what was typed (issue 12)."""
    from varwheel.cli.selection_options import requirements_from_args

    req = tmp_path / "req.txt"
    req.write_text("--index-url http://127.0.0.1:1/simple/\n-f ./wheels\n--pre\ndemo>=1\n")
    args = build_parser("lock").parse_args(["lock", "-r", str(req), "other"])
    before = dict(vars(args))
    reqs, merged = requirements_from_args(args)
    assert vars(args) == before
    assert [r.name for r in reqs] == ["other", "demo"]
    assert merged.index_url == "http://127.0.0.1:1/simple/" and merged.pre is True
    assert merged.find_links == ["./wheels"] and merged is not args


@pytest.mark.parametrize(
    ("given", "only", "no"),
    [
        ([("only-binary", ":all:")], {":all:"}, set()),
        ([("only-binary", ":all:"), ("no-binary", "A_b")], {":all:"}, {"a-b"}),
        ([("no-binary", "x"), ("only-binary", "X,y")], {"x", "y"}, set()),
        ([("no-binary", ":all:"), ("only-binary", ":all:")], {":all:"}, set()),
        ([("only-binary", "x,:none:")], set(), set()),
    ],
)
def test_format_control_as_pip(given, only, no) -> None:
    """--only-binary/--no-binary in command-line order, as pip's FormatControl."""
    parser = build_parser("install")
    argv = ["install", "r"]
    for flag, value in given:
        argv += [f"--{flag}", value]
    settings = api.Settings.load(flags_from_args(parser.parse_args(argv)))
    assert (set(settings.only_binary), set(settings.no_binary)) == (only, no)


def test_format_control_decides_per_project() -> None:
    from varwheel.resolve.options import ResolveOptions

    opts = ResolveOptions(only_binary=frozenset({":all:"}), no_binary=frozenset({"src"}))
    assert (opts.wheels_allowed("src"), opts.sdists_allowed("src")) == (False, True)
    assert (opts.wheels_allowed("bin"), opts.sdists_allowed("bin")) == (True, False)
    plain = ResolveOptions(no_binary=frozenset({":all:"}), only_binary=frozenset({"w"}))
    assert (plain.wheels_allowed("w"), plain.sdists_allowed("w")) == (True, False)
    assert (plain.wheels_allowed("z"), plain.sdists_allowed("z")) == (False, True)
    with pytest.raises(InvalidInput):
        api.Settings.load(api.Flags(format_control=(("no-binary", "--pre"),)))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["only-binary", "no-binary"]),
            st.text(alphabet="ab,:-_ noel", max_size=12),
        ),
        max_size=4,
    )
)
def test_format_control_parser_accepts_or_refuses_cleanly(values) -> None:
    try:
        settings = api.Settings.load(api.Flags(format_control=tuple(values)))
    except InvalidInput:
        return
    # ":all:" is never in both sets (pip: one clears the other)
    assert not (":all:" in settings.only_binary and ":all:" in settings.no_binary)
    assert not (settings.only_binary - {":all:"}) & settings.no_binary
