"""``varwheel.api`` driven as a library, without the command line: Settings → Target →
plan_install → execute, explain, uninstall, installed; distributions from an in-memory source."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.tags import sys_tags

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.wheels import build_wheel
from resolve.variant_project import build_project, write_profile
from varwheel import api
from varwheel.codes import ExplainStatus, MetadataRoute, ReasonCode
from varwheel.errors import InvalidInput, ResolutionError
from varwheel.resolve.source import DistributionSource, MemorySource


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_project(tmp_path_factory.mktemp("wheels"))


def _target(tmp_path: Path, cuda: list[str] | None) -> api.Target:
    """This interpreter's tags and markers, variant support from a profile (no provider runs)."""
    profile = write_profile(tmp_path / "machine.toml", cuda=cuda)
    return api.Target.from_tags(list(sys_tags()), default_environment()).with_profile(profile)


def test_memory_source_is_a_source(wheels: list[Path]) -> None:
    assert isinstance(MemorySource(wheels), DistributionSource)


def test_plan_keeps_the_choice_its_ranking_and_every_reason(
    tmp_path: Path, wheels: list[Path]
) -> None:
    source = MemorySource(wheels)
    reporter = api.Reporter()
    target = _target(tmp_path, ["12.8", "12.0"])
    with api.plan_install(
        ["vdemo"], api.Settings(), target, source=source, reporter=reporter
    ) as plan:
        pkg = plan.package("vdemo")
        assert (str(pkg.candidate.version), pkg.candidate.label) == ("1.0", "cu12")
        assert pkg.requested and pkg.candidate.decided_by
        # the variant markers of the chosen wheel picked the dependency (PEP 825)
        assert {p.name for p in plan.to_install} == {"vdemo", "vdemo-cuda-rt"}
        ranked = [r.label for r in pkg.choice.selection.ranked]
        assert ranked == ["cu12", "null", None]  # variant, null, then the non-variant wheel
        assert pkg.choice.route is MetadataRoute.LOCAL
        report = plan.report()
        assert [i["variant"]["label"] for i in report["install"] if i["variant"]] == ["cu12"]
    # nothing but the memory source was read, and only what the choice needed
    assert ("page", "vdemo") in source.requests
    assert not any(op == "download" for op, _ in source.requests)
    assert reporter.warnings == ()


def test_no_gpu_target_gets_null_and_explain_gives_enum_reasons(
    tmp_path: Path, wheels: list[Path]
) -> None:
    target = _target(tmp_path, None)
    source = MemorySource(wheels)
    with api.plan_install(["vdemo"], api.Settings(), target, source=source) as plan:
        assert plan.package("vdemo").candidate.label == "null"
        assert {p.name for p in plan.to_install} == {"vdemo", "vdemo-cpu-rt"}
    result = api.explain(["vdemo", "vonly"], api.Settings(), target, source=source)
    vdemo, vonly = result.packages
    statuses = {w.label: w.status for w in vdemo.wheels}
    assert statuses == {
        "cu12": ExplainStatus.REJECTED,
        "null": ExplainStatus.CHOSEN,
        None: ExplainStatus.COMPATIBLE,
    }
    cu12 = next(w for w in vdemo.wheels if w.label == "cu12")
    assert cu12.reason_code in set(ReasonCode)
    assert vonly.chosen is None and not result.all_chosen
    doc = result.to_json()
    assert doc["packages"][0]["wheels"][0]["status"] in {"chosen", "compatible", "rejected"}
    with pytest.raises(ResolutionError, match=r"vonly 1\.0 has no wheel for this target"):
        api.plan_install(["vonly"], api.Settings(), target, source=source)


def test_settings_choose_among_variants(tmp_path: Path, wheels: list[Path]) -> None:
    target = _target(tmp_path, ["12.8", "12.0"])
    source = MemorySource(wheels)
    settings = api.Settings.load(api.Flags(no_variants=True))
    with api.plan_install(["vdemo"], settings, target, source=source) as plan:
        assert plan.package("vdemo").candidate.label is None
    settings = api.Settings.load(api.Flags(variants=("vdemo=null",)))
    with api.plan_install(["vdemo"], settings, target, source=source) as plan:
        assert plan.package("vdemo").candidate.label == "null"
    with pytest.raises(InvalidInput, match="--force-variant needs --variant"):
        api.Settings.load(api.Flags(force_variant=True))


def test_execute_installs_the_plan_into_a_real_venv(tmp_path: Path, wheels: list[Path]) -> None:
    venv = make_venv(tmp_path / "venv")
    settings = api.Settings(python=str(venv))
    reporter = api.Reporter()
    env = api.find_environment(settings, reporter=reporter)
    assert reporter.events[0].kind.value == "environment"
    target = api.target_for(settings, env).with_profile(
        write_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"])
    )
    source = MemorySource(wheels)
    with api.plan_install(
        ["vdemo", "vneeds"], settings, target, environment=env, source=source, reporter=reporter
    ) as plan:
        result = api.execute(plan, env, reporter=reporter)
    assert sorted(p.name for p in result.installed) == ["vdemo", "vdemo-cuda-rt", "vneeds", "vonly"]
    assert result.problems == ()
    listed = {d.name: d.variant_label for d in api.installed(env)}
    assert listed["vdemo"] == "cu12" and "vdemo-cuda-rt" in listed
    # planning again keeps what is installed
    with api.plan_install(["vdemo"], settings, target, environment=env, source=source) as again:
        assert again.to_install == []
    # removing a dependency leaves vneeds' requirement unmet: a warning, not an error
    preview = api.removal_preview(["vonly"], env)
    assert [(d.name, d.variant_label, n > 0) for d, n in preview] == [("vonly", "cu12", True)]
    removal = api.uninstall(["vonly", "not-there"], env, reporter=reporter)
    assert removal.removed and removal.missing == ("not-there",)
    assert any("not-there is not installed" in w for w in reporter.warnings)
    assert "vneeds 1.0 requires vonly>=1, which is not installed" in reporter.warnings


def test_warnings_reach_the_reporter_once(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "plain", "1.0")
    source = MemorySource([wheel])
    reporter = api.Reporter()
    target = api.Target.from_tags(list(sys_tags()), default_environment())
    for _ in range(2):
        with api.plan_install(
            ["plain[fast]"], api.Settings(), target, source=source, reporter=reporter
        ):
            pass
    assert reporter.warnings == ("plain 1.0 does not provide the extra 'fast'",)


def test_report_and_explain_json_carry_the_reporters_warnings(tmp_path: Path) -> None:
    """``install --report``/``--json`` and ``explain --json`` carry what the one reporter heard
    (plus, for the report, the source's warnings not flushed yet), beside their old fields."""
    wheel = build_wheel(tmp_path / "w", "plain", "1.0")
    source = MemorySource([wheel])
    source.warnings = ("index http://127.0.0.1:9/simple/ unreachable",)  # type: ignore[misc]
    target = api.Target.from_tags(list(sys_tags()), default_environment())
    extra = "plain 1.0 does not provide the extra 'fast'"
    reporter = api.Reporter()
    with api.plan_install(
        ["plain[fast]"], api.Settings(), target, source=source, reporter=reporter
    ) as plan:
        report = plan.report()
        assert report["version"] == "1" and [i["metadata"]["name"] for i in report["install"]]
        assert report["warnings"] == [extra, source.warnings[0]]
        assert reporter.warnings == (extra,)  # the source's line is printed on close, as before
    assert reporter.warnings == (extra, source.warnings[0])

    explained = api.explain(
        ["plain[fast]"], api.Settings(), target, source=source, reporter=api.Reporter()
    )
    doc = explained.to_json()
    assert doc["warnings"] == [source.warnings[0]] and doc["packages"][0]["name"] == "plain"


def test_requirements_are_parsed_once_with_their_files(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "plain", "1.0")
    (tmp_path / "reqs.txt").write_text(f"--find-links {tmp_path / 'w'}\n--pre\nplain>=1\n")
    reqs = api.read_requirements([str(wheel)], files=[tmp_path / "reqs.txt"])
    assert [r.name for r in reqs] == ["plain", "plain"]
    assert list(reqs.direct) == ["plain"]
    settings = api.Settings.load(api.Flags(no_index=True), requirements=reqs.options)
    assert settings.find_links == (str(tmp_path / "w"),)
    assert settings.allow_prereleases and settings.no_index
    with pytest.raises(InvalidInput, match="no requirements given"):
        api.read_requirements([])


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """user config < project [tool.varwheel] < -r file options < flags; permission lists add
    up; a project cannot trust plugins (docs/configuration.md#precedence)."""
    (tmp_path / "config.toml").write_text(
        'index-url = "https://user.example/simple/"\n'
        'extra-index-url = ["https://user-extra.example/simple/"]\n'
        'trusted-providers = ["a-plugin==1.0"]\nprovider-timeout = 5\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.varwheel]\nindex-url = "https://project.example/simple/"\n'
        'trusted-providers = ["evil==6.6.6"]\nprefer = ["x86_64 :: level :: v2"]\n'
    )
    settings = api.Settings.load()
    assert settings.index_url == "https://project.example/simple/"
    assert settings.extra_index_urls == ("https://user-extra.example/simple/",)
    assert settings.trusted_providers == ("a-plugin==1.0",)
    assert any("trusted-providers ignored" in w for w in settings.warnings)
    assert [str(p) for p in settings.selection_preferences().prefer] == ["x86_64 :: level :: v2"]
    assert settings.provider_timeout == 5.0
    # plugins come from the user's own indexes, never the project's
    assert settings.plugin_source is not None
    assert settings.plugin_source.index_url == "https://user.example/simple/"
    flags = api.Flags(
        index_url="https://flag.example/simple/",
        trust_providers=("b-plugin==2.0",),
        provider_timeout=1.5,
    )
    settings = api.Settings.load(flags)
    assert settings.index_url == "https://flag.example/simple/"
    assert settings.trusted_providers == ("a-plugin==1.0", "b-plugin==2.0")
    assert settings.provider_timeout == 1.5
    monkeypatch.setenv("PIP_BREAK_SYSTEM_PACKAGES", "1")
    assert api.Settings.load().break_system_packages
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.index_url = "x"  # type: ignore[misc]


def test_one_target_model_for_interpreter_cross_options_and_profile(tmp_path: Path) -> None:
    here = api.Target.current()
    assert here.interpreter == Path(sys.executable) and not here.is_cross
    other = here.with_overrides(
        api.CrossTarget(python_version="3.11", platforms=("manylinux_2_28_aarch64",))
    )
    assert other.is_cross and other.python_version == "3.11"
    assert other.marker_env["platform_machine"] == "aarch64"
    assert other.tags[0].interpreter == "cp311" or other.implementation != "cpython"
    assert "manylinux_2_17_aarch64" in other.platforms  # the older ladder is implied
    profile = write_profile(tmp_path / "p.toml", cuda=None)
    assert here.with_profile(profile).profile == profile
    assert here.with_profile(profile).tags == here.tags


def test_commands_without_configured_settings_ignore_a_broken_config(tmp_path: Path) -> None:
    """``list``/``uninstall`` never read the configuration: a broken file cannot block them."""
    (tmp_path / "config.toml").write_text("index-url = [\n")
    with pytest.raises(InvalidInput, match="invalid TOML"):
        api.Settings.load()
    settings = api.Settings.from_flags(api.Flags(python="3.12", break_system_packages=True))
    assert settings.python == "3.12" and settings.break_system_packages


def test_execute_opens_each_wheel_once_and_a_cached_wheel_not_at_all(
    tmp_path: Path, wheels: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One validation per wheel (streamed, bounded) fills the unpacked-wheel cache and gives
    verification its ``variant.json`` and METADATA; installation links from the cache. Before:
    verification opened each archive and validation opened it again (two opens per wheel).
    Installing the same wheels into a second environment opens none of them."""
    import zipfile

    settings = api.Settings()
    profile = write_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"])
    opened: list[str] = []
    real_init = zipfile.ZipFile.__init__

    def counting_init(self: zipfile.ZipFile, file: object, *args: object, **kw: object) -> None:
        name = getattr(file, "name", file)  # open_regular's file objects are named by their fd
        if isinstance(name, int):
            name = os.readlink(f"/proc/self/fd/{name}")
        opened.append(Path(str(name)).name)
        real_init(self, file, *args, **kw)  # type: ignore[arg-type]

    def install_into(venv: Path) -> list[str]:
        env = api.find_environment(api.Settings(python=str(venv)))
        target = api.target_for(settings, env).with_profile(profile)
        with api.plan_install(
            ["vdemo"], settings, target, environment=env, source=MemorySource(wheels)
        ) as plan:
            opened.clear()
            # a context, not undo(): undo() would also revert conftest's VARWHEEL_CACHE_DIR
            with monkeypatch.context() as patch:
                patch.setattr(zipfile.ZipFile, "__init__", counting_init)
                result = api.execute(plan, env)
        assert len(result.installed) == 2
        assert {d.name for d in api.installed(env)} >= {"vdemo", "vdemo-cuda-rt"}
        return sorted(opened)

    first = install_into(make_venv(tmp_path / "one"))
    assert len(first) == len(set(first)) == 2, first  # each of the two wheels exactly once
    assert "vdemo-1.0-py3-none-any-cu12.whl" in first, first
    assert install_into(make_venv(tmp_path / "two")) == []


def test_an_install_scans_the_environment_once_to_plan_and_once_under_the_lock(
    tmp_path: Path, wheels: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's one scan serves the no-op check, ``abi_dependency`` and the resolver; the
    transaction scans once under its lock and finds RECORD owners (an upgrade) from that scan;
    pip's check afterwards reads only what was installed. Before: the plan scanned twice when
    the no-op check failed, and an upgrade rescanned under the lock for RECORD owners."""
    venv = make_venv(tmp_path / "venv")
    settings = api.Settings(python=str(venv))
    env = api.find_environment(settings)
    target = api.target_for(settings, env).with_profile(
        write_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"])
    )
    site = {str(d) for d in env.site_dirs}
    scans: list[str] = []
    phase = ["-"]
    real_scandir = os.scandir

    def counting_scandir(path: object = ".") -> object:
        if not isinstance(path, int) and os.fspath(path) in site:  # type: ignore[arg-type]
            scans.append(phase[0])
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", counting_scandir)

    def install(requirement: str) -> tuple[int, int]:
        scans.clear()
        phase[0] = "plan"
        with api.plan_install(
            [requirement], settings, target, environment=env, source=MemorySource(wheels)
        ) as plan:
            phase[0] = "execute"
            result = api.execute(plan, env)
        assert result.installed
        return scans.count("plan"), scans.count("execute")

    per_site = len(site)
    assert install("vdemo==0.9") == (per_site, per_site)
    # an upgrade: vdemo 0.9 is replaced (its files and every other RECORD are looked at)
    assert install("vdemo==1.0") == (per_site, per_site)
    assert {d.name: d.version for d in api.installed(env)}["vdemo"] == "1.0"


def test_public_surface_is_complete_and_documented() -> None:
    import inspect as pyinspect

    import varwheel
    from varwheel import codes, reporter, settings, target
    from varwheel.resolve import source

    for module in (api, settings, target, reporter, codes, source):
        for name in module.__all__:
            obj = getattr(module, name)
            if pyinspect.isfunction(obj) or pyinspect.isclass(obj):
                assert obj.__doc__, f"{module.__name__}.{name} has no docstring"
    assert (Path(varwheel.__file__).parent / "py.typed").is_file()
