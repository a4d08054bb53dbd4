"""Where ``varwheel publish`` uploads to and with which credentials, found as twine finds them.

Precedence, highest first (twine's, plus ``VARWHEEL_`` names that win over ``TWINE_`` ones):

- repository URL: ``--repository-url``, ``VARWHEEL_REPOSITORY_URL``, ``TWINE_REPOSITORY_URL``,
  else the ``repository`` of the ``.pypirc`` section named by ``-r NAME`` /
  ``VARWHEEL_REPOSITORY`` / ``TWINE_REPOSITORY`` (``pypi`` and ``testpypi`` have defaults);
- username and password: ``--username``/``--password``, ``VARWHEEL_USERNAME``/``_PASSWORD``,
  ``TWINE_USERNAME``/``_PASSWORD``, the ``.pypirc`` section (only with ``-r``), ``user:pw@`` in
  the URL, then the password from ``keyring`` when it is installed (as twine: by URL and user).

``.pypirc`` is the distutils format: ``[distutils] index-servers`` lists the section names and
each ``[name]`` section has ``repository``, ``username``, ``password``. A password is never part of
a message or a ``repr``; :attr:`Credentials.source` says where each part came from.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from varwheel.errors import InvalidInput
from varwheel.fsutil import FileTooLarge, NotARegularFile, read_regular
from varwheel.index.http import split_credentials

__all__ = [
    "DEFAULT_REPOSITORIES",
    "Credentials",
    "Repository",
    "pypirc_path",
    "resolve_repository",
]

DEFAULT_REPOSITORIES = {
    "pypi": "https://upload.pypi.org/legacy/",
    "testpypi": "https://test.pypi.org/legacy/",
}
_PREFIXES = ("VARWHEEL_", "TWINE_")
_MAX_PYPIRC = 1024 * 1024


class InvalidRepositoryConfig(InvalidInput):
    """``-r NAME`` names no usable section, or ``.pypirc`` cannot be read."""


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    source: str = ""  # e.g. "username from TWINE_USERNAME, password from keyring"

    @property
    def basic_auth(self) -> str | None:
        """``user:password`` for HTTP Basic, or None when there is nothing to send."""
        if self.username is None and self.password is None:
            return None
        return f"{self.username or ''}:{self.password or ''}"


@dataclass(frozen=True)
class Repository:
    url: str  # the upload URL, without credentials
    name: str | None  # the .pypirc section, when one was used
    credentials: Credentials
    warnings: tuple[str, ...] = ()  # one line each, for the CLI to print


def pypirc_path(environ: Mapping[str, str] | None = None) -> Path:
    """``~/.pypirc`` (``HOME`` from ``environ`` when given)."""
    env = os.environ if environ is None else environ
    home = env.get("HOME")
    return Path(home) / ".pypirc" if home else Path.home() / ".pypirc"


def _env(environ: Mapping[str, str], suffix: str) -> tuple[str | None, str]:
    for prefix in _PREFIXES:
        value = environ.get(prefix + suffix)
        if value:
            return value, prefix + suffix
    return None, ""


def _read_pypirc(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:  # a FIFO planted as ~/.pypirc must not hang the publish
        data = read_regular(path, limit=_MAX_PYPIRC)
    except FileNotFoundError:
        return parser
    except NotARegularFile:
        raise InvalidRepositoryConfig(f"{path}: not a regular file") from None
    except FileTooLarge:
        raise InvalidRepositoryConfig(
            f"{path}: larger than {_MAX_PYPIRC} bytes; not a .pypirc"
        ) from None
    except OSError as exc:
        raise InvalidRepositoryConfig(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")  # Notepad's byte order mark is not a syntax error
    except UnicodeDecodeError as exc:
        raise InvalidRepositoryConfig(
            f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
        ) from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise InvalidRepositoryConfig(f"{path}: not a valid .pypirc: {first}") from None
    return parser


def _servers(parser: configparser.RawConfigParser) -> list[str]:
    listed = parser.get("distutils", "index-servers", fallback="")
    return [name.strip() for name in listed.split() if name.strip()]


def _section(
    parser: configparser.RawConfigParser, name: str, path: Path
) -> tuple[str, str | None, str | None]:
    """``(repository URL, username, password)`` of section ``name``."""
    has = parser.has_section(name)
    url = parser.get(name, "repository", fallback=None) if has else None
    url = url or DEFAULT_REPOSITORIES.get(name)
    if url is None:
        known = sorted({*_servers(parser), *(s for s in parser.sections() if s != "distutils")})
        listed = f" (sections: {', '.join(known)})" if known else ""
        why = "has no repository URL" if has else "is not a section"
        raise InvalidRepositoryConfig(f"-r {name}: {name!r} {why} in {path}{listed}")
    user = parser.get(name, "username", fallback=None) if has else None
    password = parser.get(name, "password", fallback=None) if has else None
    return url.strip(), user or None, password or None


def _keyring_password(url: str, username: str | None) -> str | None:
    try:
        import keyring  # optional, as for twine
    except ImportError:
        return None
    try:
        if username:
            return keyring.get_password(url, username)
        credential = keyring.get_credential(url, None)
        return credential.password if credential else None
    except Exception:  # a broken keyring backend must not stop a publish with other credentials
        return None


def resolve_repository(
    *,
    repository_url: str | None = None,
    repository: str | None = None,
    username: str | None = None,
    password: str | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> Repository:
    """The upload target and credentials from arguments, environment, ``.pypirc`` and keyring.

    Raises :class:`InvalidInput` when no repository is named or ``-r NAME`` is unknown."""
    env = os.environ if environ is None else environ
    sources: list[str] = []
    name: str | None = None
    path: Path | None = None
    section_user = section_password = None
    url = repository_url
    if url is None:
        url, _ = _env(env, "REPOSITORY_URL")
    if url is None:
        name = repository or _env(env, "REPOSITORY")[0]
        if name is None:
            raise InvalidInput(
                "no repository to publish to: give --repository-url URL, or -r NAME "
                "(a section of ~/.pypirc), or set VARWHEEL_REPOSITORY_URL"
            )
        path = config_file or pypirc_path(env)
        url, section_user, section_password = _section(_read_pypirc(path), name, path)
    url, url_auth = split_credentials(url)
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"repository URL {url!r}: not an http(s) URL")

    def pick(
        flag: str | None, suffix: str, section: str | None, from_url: str | None
    ) -> str | None:
        what = suffix.lower()
        if flag is not None:
            sources.append(f"{what} from --{what}")
            return flag
        value, var = _env(env, suffix)
        if value is not None:
            sources.append(f"{what} from {var}")
            return value
        if section is not None:
            sources.append(f"{what} from .pypirc [{name}]")
            return section
        if from_url is not None:
            sources.append(f"{what} from the URL")
            return from_url
        return None

    user = pick(username, "USERNAME", section_user, url_auth[0] if url_auth else None)
    secret = pick(password, "PASSWORD", section_password, url_auth[1] if url_auth else None)
    if secret is None and use_keyring:
        secret = _keyring_password(url, user)
        if secret is not None:
            sources.append("password from keyring")
    warnings: list[str] = []
    if section_password is not None and secret == section_password and path is not None:
        with contextlib.suppress(OSError):
            mode = path.stat().st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                warnings.append(
                    f"{path} holds a password and other users can read it (mode "
                    f"{stat.S_IMODE(mode):o}); chmod 600 {path}"
                )
    credentials = Credentials(user, secret, ", ".join(sources) or "none")
    return Repository(url, name, credentials, tuple(warnings))
