"""resolve_repository: twine's precedence (flags, VARWHEEL_/TWINE_ variables, .pypirc, URL,
keyring) and passwords kept out of every message."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from varwheel.errors import InvalidInput
from varwheel.index.credentials import resolve_repository

PYPIRC = """\
[distutils]
index-servers =
    local
    pypi

[local]
repository = http://127.0.0.1:8080/
username = fromfile
password = filesecret

[pypi]
username = __token__
password = pypi-abc
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".pypirc").write_text(PYPIRC)
    monkeypatch.setitem(sys.modules, "keyring", None)  # no keyring unless a test adds one
    return tmp_path


def test_pypirc_sections(home: Path) -> None:
    env = {"HOME": str(home)}
    local = resolve_repository(repository="local", environ=env)
    assert local.url == "http://127.0.0.1:8080/" and local.name == "local"
    assert (local.credentials.username, local.credentials.password) == ("fromfile", "filesecret")
    assert local.credentials.source == (
        "username from .pypirc [local], password from .pypirc [local]"
    )
    assert "filesecret" not in repr(local)
    pypi = resolve_repository(repository="pypi", environ=env)
    assert pypi.url == "https://upload.pypi.org/legacy/"
    assert pypi.credentials.username == "__token__"
    with pytest.raises(InvalidInput, match=r"-r nope: 'nope' is not a section .*local, pypi"):
        resolve_repository(repository="nope", environ=env)
    with pytest.raises(InvalidInput, match="no repository to publish to"):
        resolve_repository(environ=env)


def test_precedence(home: Path) -> None:
    env = {
        "HOME": str(home),
        "TWINE_USERNAME": "twineuser",
        "TWINE_PASSWORD": "twinepw",
        "VARWHEEL_PASSWORD": "vwpw",
        "TWINE_REPOSITORY": "local",
    }
    r = resolve_repository(environ=env)
    assert r.url == "http://127.0.0.1:8080/"  # TWINE_REPOSITORY names the section
    assert (r.credentials.username, r.credentials.password) == ("twineuser", "vwpw")
    assert r.credentials.source == "username from TWINE_USERNAME, password from VARWHEEL_PASSWORD"
    r = resolve_repository(repository_url="http://h/", username="flag", environ=env)
    assert (r.url, r.name, r.credentials.username) == ("http://h/", None, "flag")
    env["TWINE_REPOSITORY_URL"] = "http://u:urlpw@other/"
    r = resolve_repository(environ={"TWINE_REPOSITORY_URL": "http://u:urlpw@other/"})
    assert r.url == "http://other/" and r.credentials.password == "urlpw"
    with pytest.raises(InvalidInput, match="not an http"):
        resolve_repository(repository_url="ftp://x/", environ={})


def test_keyring_when_installed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str | None]] = []

    def get_password(url: str, user: str | None) -> str:
        asked.append((url, user))
        return "from-keyring"

    fake = types.SimpleNamespace(get_password=get_password, get_credential=None)
    monkeypatch.setitem(sys.modules, "keyring", fake)
    r = resolve_repository(repository_url="http://h/", username="bob", environ={})
    assert r.credentials.password == "from-keyring" and asked == [("http://h/", "bob")]
    assert r.credentials.source == "username from --username, password from keyring"
    r = resolve_repository(repository_url="http://h/", username="bob", password="x", environ={})
    assert len(asked) == 1  # a given password is never looked up


def test_unreadable_pypirc(tmp_path: Path) -> None:
    (tmp_path / ".pypirc").write_text("[local\nrepository = x\n")
    with pytest.raises(InvalidInput, match=r"\.pypirc: not a valid \.pypirc"):
        resolve_repository(repository="local", environ={"HOME": str(tmp_path)})


def test_odd_pypirc_files(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    pypirc = tmp_path / ".pypirc"
    # Notepad's byte order mark: read as the file it is (it was "no section headers")
    pypirc.write_bytes(b"\xef\xbb\xbf" + PYPIRC.encode())
    repo = resolve_repository(repository="local", environ=env)
    assert repo.credentials.password == "filesecret"
    # latin-1: one line naming the byte, never the text around it (the password)
    pypirc.write_bytes(PYPIRC.replace("filesecret", "s3cr\xe9t").encode("latin-1"))
    with pytest.raises(InvalidInput) as info:
        resolve_repository(repository="local", environ=env)
    assert str(info.value) == f"{pypirc}: not UTF-8 (byte 0xe9); save it as UTF-8"
    # a FIFO planted as ~/.pypirc: refused at once (it blocked the publish forever)
    pypirc.unlink()
    os.mkfifo(pypirc)
    with pytest.raises(InvalidInput, match=r"\.pypirc: not a regular file$"):
        resolve_repository(repository="local", environ=env)


def test_a_pypirc_password_others_can_read_is_warned_about(home: Path) -> None:
    pypirc = home / ".pypirc"
    env = {"HOME": str(home)}
    pypirc.chmod(0o644)
    repo = resolve_repository(repository="local", environ=env)
    assert repo.warnings == (
        f"{pypirc} holds a password and other users can read it (mode 644); chmod 600 {pypirc}",
    )
    assert "filesecret" not in repo.warnings[0]
    pypirc.chmod(0o600)
    assert resolve_repository(repository="local", environ=env).warnings == ()
    pypirc.chmod(0o644)  # the password comes from elsewhere: the file's is not used
    other = resolve_repository(repository="local", environ={**env, "TWINE_PASSWORD": "x"})
    assert other.warnings == ()
