"""upload_file: the legacy upload API as twine speaks it, read back by an independent parser on a
loopback server; retries, refusals and the servers' "already exists" answers."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.http_server import free_port
from helpers.wheels import build_wheel
from index.hostile_upload_server import hostile_server
from index.release import build_release
from index.upload_server import upload_server
from varwheel.errors import IndexFetchError, InvalidInput
from varwheel.index.credentials import Credentials, Repository
from varwheel.index.upload import UploadRefused, server_reason, upload_fields, upload_file


def repo(url: str, user: str | None = None, password: str | None = None) -> Repository:
    return Repository(url, None, Credentials(user, password, "test"))


def test_fields_and_content_as_twine_sends_them(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path,
        "Demo.Pkg",
        "1.0",
        requires_dist=["a>=1", 'b; extra == "x"'],
        requires_python=">=3.9",
        metadata_headers=[("Classifier", "A :: B"), ("Classifier", "C :: D")],
        build_tag="7",
        tags="cp311-cp311-linux_x86_64",
        files={"demo_pkg/__init__.py": "", "demo_pkg/blob.bin": os.urandom(300_000)},
    )
    seen: list[tuple[int, int]] = []
    with upload_server(auth=("alice", "s3cret")) as server:
        result = upload_file(
            repo(server.url, "alice", "s3cret"), wheel, progress=lambda a, b: seen.append((a, b))
        )
    assert (result.outcome, result.status, result.attempts) == ("uploaded", 200, 1)
    (got,) = server.received
    assert got.filename == wheel.name and got.content == wheel.read_bytes()
    f = got.fields
    assert f[":action"] == ["file_upload"] and f["protocol_version"] == ["1"]
    assert f["name"] == ["Demo.Pkg"] and f["version"] == ["1.0"]
    assert f["filetype"] == ["bdist_wheel"] and f["pyversion"] == ["cp311"]
    assert f["requires_dist"] == ["a>=1", 'b; extra == "x"']
    assert f["classifiers"] == ["A :: B", "C :: D"] and f["requires_python"] == [">=3.9"]
    assert f["md5_digest"] == [hashlib.md5(wheel.read_bytes()).hexdigest()]
    assert f["blake2_256_digest"] == [
        hashlib.blake2b(wheel.read_bytes(), digest_size=32).hexdigest()
    ]
    # streamed: several progress calls, ending at the whole body
    assert len(seen) > 1 and seen[-1][0] == seen[-1][1] > wheel.stat().st_size


def test_variant_wheel_and_sdist(tmp_path: Path) -> None:
    plain, cu12 = build_release(tmp_path, "1.0", labels=("cu12",), build_tag="1")
    sdist = tmp_path / "vpub-1.0.tar.gz"
    pkg_info = b"Metadata-Version: 2.1\nName: vpub\nVersion: 1.0\nSummary: s\n\nLong text\n"
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("vpub-1.0/PKG-INFO")
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
    with upload_server() as server:
        for path in (sdist, plain, cu12):
            upload_file(repo(server.url), path)
    by_name = {u.filename: u.fields for u in server.received}
    assert by_name[sdist.name]["filetype"] == ["sdist"]
    assert by_name[sdist.name]["pyversion"] == ["source"]
    assert by_name[sdist.name]["description"] == ["Long text\n"]
    assert by_name[cu12.name]["pyversion"] == ["py3"]  # the label is not a tag


def test_retries_5xx_then_succeeds_and_exists_after_retry(tmp_path: Path) -> None:
    (wheel,) = build_release(tmp_path, "1.0", labels=())
    with upload_server() as server:
        server.fail_next = [503, 502]
        result = upload_file(repo(server.url), wheel, backoff=0.01)
        assert (result.outcome, result.attempts) == ("uploaded", 3)
        server.fail_next = [503]
        with pytest.raises(UploadRefused, match=r"HTTP 503.*Service Unavailable"):
            upload_file(repo(server.url), wheel, retries=0)
        # a retry answered "exists": the first attempt arrived (a proxy lost its answer)
        server.fail_next = [504]
        again = upload_file(repo(server.url), wheel, backoff=0.01)
        assert (again.outcome, again.status) == ("exists", 409)


def test_refusals_are_one_line(tmp_path: Path) -> None:
    (wheel,) = build_release(tmp_path, "1.0", labels=())
    with upload_server(auth=("alice", "right")) as server:
        with pytest.raises(UploadRefused) as info:
            upload_file(repo(server.url, "alice", "wrong"), wheel)
        assert info.value.status == 401 and "wrong" not in str(info.value)
        assert "\n" not in str(info.value) and "credentials: test" in str(info.value)
        upload_file(repo(server.url, "alice", "right"), wheel)
        with pytest.raises(UploadRefused, match="--skip-existing") as info:
            upload_file(repo(server.url, "alice", "right"), wheel)
        assert info.value.exists and info.value.status == 409
        skipped = upload_file(repo(server.url, "alice", "right"), wheel, skip_existing=True)
        assert skipped.outcome == "exists"
    port = free_port()  # nothing listens there
    with pytest.raises(IndexFetchError, match=r"failed after 2 attempt\(s\): .*refused"):
        upload_file(repo(f"http://127.0.0.1:{port}/"), wheel, retries=1, backoff=0.01)
    bad = tmp_path / "vpub-1.0-variants.json"
    bad.write_text("{}")
    with pytest.raises(InvalidInput, match="not a wheel or an sdist"):
        upload_fields(bad)


@pytest.mark.parametrize(
    ("status", "body", "ctype", "expected"),
    [
        (
            400,
            b"<html><body><h1>Error: 400 Bad Request</h1><pre>Bad filename: x-1.0-variants.json</pre>",
            "text/html",
            "Bad filename: x-1.0-variants.json",
        ),
        (
            400,
            b"400 'x-1.0-variants.json' is not a valid archive name\n\n\n",
            "text/plain",
            "'x-1.0-variants.json' is not a valid archive name",
        ),
        (400, b'{"message": "File already exists"}', "application/json", "File already exists"),
        (502, b"", "text/plain", "Bad Gateway"),
    ],
)
def test_server_reason(status: int, body: bytes, ctype: str, expected: str) -> None:
    reason = "Bad Gateway" if status == 502 else "Bad Request"
    assert server_reason(status, reason, body, ctype) == expected


@given(
    st.integers(100, 599),
    st.text(max_size=40),
    st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode),
    st.sampled_from(["text/html", "text/plain", "application/json", ""]),
)
def test_server_reason_is_always_one_short_line(
    status: int, http_reason: str, body: bytes, ctype: str
) -> None:
    reason = server_reason(status, http_reason, body, ctype)
    assert reason and "\n" not in reason and "\r" not in reason and len(reason) <= 300


def test_a_huge_answer_is_cut_not_read_into_memory(tmp_path: Path) -> None:
    (wheel,) = build_release(tmp_path, "1.0", labels=())
    with hostile_server("huge") as server, pytest.raises(UploadRefused) as info:
        upload_file(repo(server.url), wheel, retries=0)
    # the old client read the whole 256 MiB body (and 3 GB on a longer one) into memory
    assert server.sent < 32 * 1024 * 1024
    assert info.value.status == 400 and len(str(info.value)) < 500


def test_a_silent_server_times_out_with_one_line(tmp_path: Path) -> None:
    (wheel,) = build_release(tmp_path, "1.0", labels=())
    with hostile_server("silent") as server:
        start = time.monotonic()
        with pytest.raises(IndexFetchError) as info:
            upload_file(repo(server.url), wheel, retries=1, backoff=0.01, timeout=0.5)
        assert time.monotonic() - start < 10
    assert str(info.value).endswith("failed after 2 attempt(s): no answer within 0.5 s (--timeout)")
    assert server.requests == 2


def test_a_redirect_to_another_host_is_never_suggested(tmp_path: Path) -> None:
    (wheel,) = build_release(tmp_path, "1.0", labels=())
    with hostile_server("redirect-host") as server, pytest.raises(UploadRefused) as info:
        upload_file(repo(server.url, "alice", "s3cret"), wheel)
    message = str(info.value)
    assert "not followed and no credentials sent there" in message
    assert "use that URL" not in message and "s3cret" not in message
