"""``varwheel.api.publish`` driven without the command line: static indexes and merged artifacts
of real wheels, uploads to a real HTTP upload server on 127.0.0.1, asserting on the returned
data and on what the reporter heard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import snapshot_tree
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel, variant_json
from index.release import build_release
from index.upload_server import upload_server
from varwheel.api.publish import (
    PublishOptions,
    build_index,
    find_repository,
    merge_indexes,
    plan_publish,
    publish,
    with_typed_credentials,
)
from varwheel.codes import UploadOutcome
from varwheel.errors import InvalidInput
from varwheel.index.upload import DEFAULT_TIMEOUT
from varwheel.publish import ReleaseRefused
from varwheel.reporter import Reporter

X86 = {
    "x86_64": {
        "requires": ["provider-variant-x86-64>=0.0.3"],
        "plugin-api": "provider_variant_x86_64.plugin:X8664Plugin",
    }
}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("TWINE_", "VARWHEEL_REPOSITORY"))
    monkeypatch.setenv("HOME", str(tmp_path))


def test_build_index_reports_skipped_files_and_is_idempotent(tmp_path: Path) -> None:
    build_release(tmp_path / "dist", "1.0")
    (tmp_path / "dist" / "SHA256SUMS").write_text("x\n")
    reporter = Reporter()
    update = build_index([tmp_path / "dist"], tmp_path / "site", reporter=reporter)
    assert sorted(update.added) == [
        "vpub-1.0-py3-none-any-cu12.whl",
        "vpub-1.0-py3-none-any-cu13.whl",
        "vpub-1.0-py3-none-any-null.whl",
        "vpub-1.0-py3-none-any.whl",
    ]
    assert update.dest == tmp_path / "site" and update.unchanged == ()
    assert [Path(p).name for p in update.variants_json] == ["vpub-1.0-variants.json"]
    assert reporter.notes == (
        f"skipped {tmp_path / 'dist' / 'SHA256SUMS'} (not a wheel, sdist or *-variants.json)",
    )
    assert reporter.warnings == ()
    page = json.loads((tmp_path / "site" / "simple" / "vpub" / "index.json").read_bytes())
    assert {f["filename"] for f in page["files"]} >= set(update.added)

    before = snapshot_tree(tmp_path / "site")
    again = build_index([tmp_path / "dist"], tmp_path / "site")
    assert again.added == () and again.variants_json == () and len(again.unchanged) == 4
    assert snapshot_tree(tmp_path / "site") == before


def test_build_index_refuses_an_inconsistent_set_and_writes_nothing(tmp_path: Path) -> None:
    build_release(tmp_path / "a", "1.0", labels=("cu12",))
    build_release(tmp_path / "b", "1.0", labels=("cu12",), payload=16)  # same names, other bytes
    with pytest.raises(InvalidInput, match=r"vpub-1\.0-py3-none-any"):
        build_index([tmp_path / "a", tmp_path / "b"], tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_merge_indexes_is_independent_of_the_order(tmp_path: Path) -> None:
    build_release(tmp_path / "job1", "1.0", labels=("cu12",))
    build_release(tmp_path / "job2", "1.0", labels=("cu13", "null"), plain=False)
    one = merge_indexes([tmp_path / "job1", tmp_path / "job2"], tmp_path / "out1")
    two = merge_indexes([tmp_path / "job2", tmp_path / "job1"], tmp_path / "out2")
    assert one.variants_json == two.variants_json == ("vpub-1.0-variants.json",)
    assert sorted(one.files) == sorted(two.files)
    assert len(one.files) == 5 and one.skipped == ()
    assert snapshot_tree(tmp_path / "out1") == snapshot_tree(tmp_path / "out2")
    merged = json.loads((tmp_path / "out1" / "vpub-1.0-variants.json").read_bytes())
    assert sorted(merged["variants"]) == ["cu12", "cu13", "null"]


def test_plan_publish_orders_the_release_and_refuses_errors(tmp_path: Path) -> None:
    build_release(tmp_path / "dist", "1.0", labels=("cu12", "null"))
    (tmp_path / "dist" / "notes.txt").write_text("x")
    reporter = Reporter()
    plan = plan_publish([tmp_path / "dist"], reporter=reporter)
    assert [p.name for p in plan.files] == [
        "vpub-1.0-py3-none-any.whl",
        "vpub-1.0-py3-none-any-null.whl",
        "vpub-1.0-py3-none-any-cu12.whl",
    ]
    assert list(plan.variants) == [("vpub", "1.0")]
    assert reporter.notes == (
        f"skipped {tmp_path / 'dist' / 'notes.txt'} (not a wheel, sdist or *-variants.json)",
    )

    build_wheel(tmp_path / "bad", "bad", "1.0")
    doc = variant_json("v9", ["x86_64 :: level :: v9"], providers=X86)
    build_wheel(tmp_path / "bad", "bad", "1.0", variant=doc)
    with pytest.raises(ReleaseRefused, match="refusing to publish: unknown-value:"):
        plan_publish([tmp_path / "bad"])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x")
    with pytest.raises(InvalidInput, match="no wheel, sdist or"):
        plan_publish([tmp_path / "docs"])


def test_publish_uploads_in_order_then_skips_existing(tmp_path: Path) -> None:
    build_release(tmp_path / "dist", "1.0", labels=("null", "cu12"))
    plan = plan_publish([tmp_path / "dist"])
    with upload_server(auth=("carol", "pa55")) as server:
        repo = find_repository(repository_url=server.url, username="carol", password="pa55")
        assert repo.url == server.url
        assert repo.credentials.source == "username from --username, password from --password"
        started: list[str] = []
        done: list[str] = []
        sent: list[int] = []
        report = publish(
            plan,
            repo,
            on_start=lambda path: started.append(path.name),
            on_progress=lambda n, total: sent.append(n),
            on_done=lambda result: done.append(result.filename),
        )
        again = publish(plan, repo, PublishOptions(skip_existing=True))
    names = [p.name for p in plan.files]
    assert [u.filename for u in server.received] == names == started == done
    assert [r.outcome for r in report.results] == ["uploaded"] * 3
    assert [r.outcome for r in again.results] == ["exists"] * 3
    assert all(r.outcome is UploadOutcome.EXISTS for r in again.results)  # a member, not text
    assert {r.status for r in again.results} == {409}
    assert report.side_index is None and report.server_index is None
    assert sent and max(sent) >= min(p.stat().st_size for p in plan.files)


def test_publish_writes_the_side_index_linking_the_servers_files(tmp_path: Path) -> None:
    build_release(tmp_path / "dist", "1.0", labels=("cu12",))
    plan = plan_publish([tmp_path / "dist"])
    # the server's own simple index: a static index of the same files, served over HTTP
    build_index([tmp_path / "dist"], tmp_path / "server-site")
    options = PublishOptions(variants_index=tmp_path / "side", retries=0, timeout=30)
    with upload_server() as uploads, serve_directory(tmp_path / "server-site") as pages:
        simple = pages.url + "simple/"
        repo = find_repository(repository_url=uploads.url)
        report = publish(plan, repo, replace_url(options, simple))
    assert report.server_index == simple
    assert report.side_index is not None and report.side_index.dest == tmp_path / "side"
    side = json.loads((tmp_path / "side" / "simple" / "vpub" / "index.json").read_bytes())
    urls = {f["filename"]: f["url"] for f in side["files"]}
    assert urls["vpub-1.0-py3-none-any-cu12.whl"].startswith(pages.url)
    assert "vpub-1.0-variants.json" in urls


def replace_url(options: PublishOptions, url: str) -> PublishOptions:
    import dataclasses

    return dataclasses.replace(options, server_index_url=url)


def test_repository_from_pypirc_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc = tmp_path / "custom.pypirc"
    rc.write_text(
        "[distutils]\nindex-servers = team\n\n"
        "[team]\nrepository = http://127.0.0.1:1/team/\nusername = carol\npassword = pa55\n"
    )
    repo = find_repository(repository="team", config_file=rc)
    assert (repo.url, repo.name, repo.credentials.username) == (
        "http://127.0.0.1:1/team/",
        "team",
        "carol",
    )
    assert repo.credentials.source == "username from .pypirc [team], password from .pypirc [team]"
    # a URL in the environment wins over -r; a flag over the environment
    monkeypatch.setenv("VARWHEEL_REPOSITORY_URL", "http://127.0.0.1:2/env/")
    assert find_repository(repository="team", config_file=rc).url == "http://127.0.0.1:2/env/"
    flagged = find_repository(repository_url="http://127.0.0.1:3/", config_file=rc)
    assert flagged.url == "http://127.0.0.1:3/"
    monkeypatch.delenv("VARWHEEL_REPOSITORY_URL")
    with pytest.raises(InvalidInput, match="no repository to publish to"):
        find_repository()
    with pytest.raises(InvalidInput, match="'nope' is not a section"):
        find_repository(repository="nope", config_file=rc)


def test_typed_credentials_say_where_they_came_from() -> None:
    from varwheel.index.credentials import Credentials, Repository

    bare = Repository("http://127.0.0.1:1/", None, Credentials(source="none"))
    typed = with_typed_credentials(bare, username="dave", password="s3cret")
    assert typed.credentials.username == "dave" and typed.credentials.password == "s3cret"
    assert typed.credentials.source == "username typed, password typed"
    named = Repository("http://127.0.0.1:1/", None, Credentials("erin", None, "username from X"))
    kept = with_typed_credentials(named, username="ignored", password="pw")
    assert kept.credentials.username == "erin"
    assert kept.credentials.source == "username from X, password typed"


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("inf"), float("nan")])
def test_publish_options_refuse_a_bad_timeout(timeout: float) -> None:
    with pytest.raises(InvalidInput, match="must be a positive number of seconds"):
        PublishOptions(timeout=timeout)


def test_publish_options_defaults() -> None:
    options = PublishOptions(retries=-5)
    assert options.retries == 0 and options.timeout is None and not options.skip_existing
    assert DEFAULT_TIMEOUT > 0
