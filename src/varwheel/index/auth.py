"""Logins for indexes: credentials in the URL, ``.netrc`` and the ``keyring`` command.

As pip and uv find them (docs/configuration.md#logging-in-to-an-index), per host:

1. ``user:password@`` in an index or find-links URL;
2. the ``.netrc`` entry of the host (``$NETRC``, else ``~/.netrc``; its ``default`` entry too),
   sent from the first request, as curl, requests and uv do;
3. with ``keyring_provider="subprocess"`` (uv's ``--keyring-provider subprocess``): after an
   HTTP 401, ``keyring get SERVICE USER`` for the index URL, then for the host; the user name
   comes from the URL (``https://USER@host/…``) or the ``.netrc`` login. No keyring package is
   imported: any program named ``keyring`` on ``PATH`` answers.

A secret is never part of a message, a ``repr`` or a URL that is kept; it is sent only to the
host it belongs to (urllib3 drops ``Authorization`` on a redirect to another host or port).
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "KEYRING_PROVIDERS",
    "AuthOptions",
    "Authenticator",
    "Login",
    "netrc_path",
    "remember_url_login",
]

KEYRING_PROVIDERS = ("disabled", "subprocess")
_KEYRING_TIMEOUT = 30.0
# host[:port] -> (scheme, user, password) from direct references the user wrote
# (``remember_url_login``)
_URL_LOGINS: dict[str, tuple[str, str, str]] = {}
_URL_LOGINS_LOCK = threading.Lock()


def remember_url_login(url: str) -> str:
    """``url`` without its ``user:password@``, which stays known in this process as the login
    of that host (as pip keeps a URL's credentials per host). For direct references
    (``name @ https://user:pw@host/x.whl``): the URL that is kept, shown and recorded in
    ``direct_url.json`` has no secret (PEP 610: the password MUST NOT be recorded), and the
    download still logs in."""
    from urllib.parse import unquote, urlunsplit

    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    user, _, password = userinfo.partition(":")
    if user or password:
        with _URL_LOGINS_LOCK:
            _URL_LOGINS[hostport.lower()] = (parts.scheme.lower(), unquote(user), unquote(password))
    return urlunsplit(parts._replace(netloc=hostport))


@dataclass(frozen=True)
class Login:
    """A user name and password for one host, and where they came from (for messages)."""

    username: str
    password: str = field(repr=False)
    source: str  # "the URL", "/home/u/.netrc", "keyring"

    @property
    def header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True)
class AuthOptions:
    """How logins are found. ``netrc``: the file to read (None: none); ``index_names`` maps an
    index root URL to the name shown in messages (named indexes)."""

    netrc: Path | None = None
    keyring_provider: str = "disabled"
    keyring_command: str = "keyring"
    index_names: Mapping[str, str] = field(default_factory=dict)


def netrc_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$NETRC``, else ``~/.netrc`` (curl's, requests' and uv's rule)."""
    env = os.environ if environ is None else environ
    if env.get("NETRC"):
        return Path(env["NETRC"]).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".netrc"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2].lower()


class Authenticator:
    """The ``Authorization`` header for each request, thread-safe; lookups are cached."""

    def __init__(
        self,
        url_credentials: Mapping[str, tuple[str, str]] | None = None,
        options: AuthOptions | None = None,
    ) -> None:
        """``url_credentials`` maps ``host[:port]`` to the (user, password) of a URL."""
        self.options = options or AuthOptions()
        self._lock = threading.Lock()
        self._logins: dict[str, Login] = {}
        self._users: dict[str, str] = {}  # a user name without a password: for the keyring
        for netloc, (user, password) in (url_credentials or {}).items():
            if password:
                self._logins[netloc.lower()] = Login(user, password, "the URL")
            elif user:
                self._users[netloc.lower()] = user
        # a password written in an https:// index URL never goes out over plain http:// to the
        # same host (a page linking http:// files: uv keys such logins by scheme, host, port)
        schemes: dict[str, set[str]] = {}
        for root in self.options.index_names:
            try:
                parts = urlsplit(root)
            except ValueError:  # not a URL: IndexClient names it, when it is used
                continue
            schemes.setdefault(parts.netloc.rpartition("@")[2].lower(), set()).add(parts.scheme)
        self._https_only = {netloc for netloc, found in schemes.items() if found == {"https"}}
        self._netrc: object | None = None
        self.netrc_problem: str | None = None  # why .netrc could not be used (for the hint)
        self._keyring_tried: set[str] = set()
        self._keyring_lock = threading.Lock()
        self.keyring_problem: str | None = None

    # -- what is sent --------------------------------------------------------------------
    def login_for(self, url: str) -> Login | None:
        """The login sent with a request to ``url``: the URL's, else ``.netrc``'s, else one
        the keyring gave earlier; None: send none."""
        netloc = _netloc(url)
        plain = urlsplit(url).scheme.lower() != "https"
        with self._lock:
            found = self._logins.get(netloc)
        if found is not None and not (
            plain and found.source == "the URL" and netloc in self._https_only
        ):
            return found
        login = self._from_netrc(url)
        if login is not None and found is not None:
            return login  # the URL's login is kept for https://
        if login is not None:
            with self._lock:
                self._logins.setdefault(netloc, login)
                return self._logins[netloc]
        with _URL_LOGINS_LOCK:
            given = _URL_LOGINS.get(netloc)
        if given is not None and given[0] != urlsplit(url).scheme.lower():
            given = None  # written for https://: never sent over http:// (nor the reverse)
        if given is not None and given[2]:
            return Login(given[1], given[2], "the URL")
        user = self._users.get(netloc) or (given[1] if given else None)
        return Login(user, "", "the URL") if user else None

    def after_unauthorized(self, url: str, sent: Login | None) -> Login | None:
        """A new login to retry ``url`` with after HTTP 401 (the keyring's), or None."""
        if self.options.keyring_provider != "subprocess":
            return None
        # one lookup at a time: worker threads meeting the same 401 wait for its answer
        with self._keyring_lock:
            return self._from_keyring(url, sent)

    def _from_keyring(self, url: str, sent: Login | None) -> Login | None:
        netloc = _netloc(url)
        with self._lock:
            if netloc in self._keyring_tried:
                found = self._logins.get(netloc)
                return found if found is not None and found.source == "keyring" else None
            self._keyring_tried.add(netloc)
        user = sent.username if sent is not None and sent.username else self._users.get(netloc)
        if not user:
            self.keyring_problem = (
                "the keyring needs the user name: give it in the URL (https://USER@host/…)"
            )
            return None
        for service in (self.index_of(url) or url, netloc):
            password = self._keyring_get(service, user)
            if password:
                login = Login(user, password, "keyring")
                with self._lock:
                    self._logins[netloc] = login
                return login
        if self.keyring_problem is None:
            self.keyring_problem = f"the keyring has no password for {user} at {netloc}"
        return None

    # -- messages ------------------------------------------------------------------------
    def index_of(self, url: str) -> str | None:
        """The configured index root that ``url`` lies under (longest match), if any."""
        roots = [root for root in self.options.index_names if url.startswith(root)]
        return max(roots, key=len) if roots else None

    def refused_hint(self, url: str, status: int, sent: Login | None) -> str:
        """One line after HTTP 401/403: which index, and how to log in (never a secret)."""
        root = self.index_of(url)
        name = self.options.index_names.get(root or "", "")
        where = f"index {name!r} ({root})" if name else f"the index at {root or _netloc(url)}"
        host = _host(url)
        if sent is not None and sent.password:
            what = "refused" if status == 401 else "not allowed access"
            return (
                f"{where}: the login for {sent.username} from {sent.source} was {what}; "
                "check the user name and password (or token)"
            )
        netrc_file = self.options.netrc or netrc_path()
        ways = [
            f"add 'machine {host} login USER password SECRET' to {netrc_file}",
            "put USER:PASSWORD@ in the index URL",
            "or use --keyring-provider subprocess with USER@ in the URL",
        ]
        if self.options.keyring_provider == "subprocess":
            ways[-1] = f"or store it with 'keyring set {root or _netloc(url)} USER'"
        problems = [p for p in (self.netrc_problem, self.keyring_problem) if p]
        extra = f" ({'; '.join(problems)})" if problems else ""
        return f"{where} needs a login{extra}: {', '.join(ways)}"

    # -- sources -------------------------------------------------------------------------
    def _from_netrc(self, url: str) -> Login | None:
        path = self.options.netrc
        if path is None:
            return None
        with self._lock:
            if self._netrc is None:
                self._netrc = self._read_netrc(path)
            parsed = self._netrc
        if parsed is False:
            return None
        import netrc

        assert isinstance(parsed, netrc.netrc)
        entry = parsed.authenticators(_host(url))
        if not entry:
            return None
        login, _account, password = entry
        if not password:
            if login:
                self._users.setdefault(_netloc(url), login)
            return None
        return Login(login or "", password, str(path))

    def _read_netrc(self, path: Path) -> object:
        import netrc

        try:
            if not path.is_file():  # missing, or a FIFO that would block the open
                if path.exists():
                    self.netrc_problem = f"{path} is not a regular file"
                return False
            return netrc.netrc(str(path))
        except netrc.NetrcParseError as exc:
            self.netrc_problem = f"{path} cannot be read: {exc.msg} (line {exc.lineno})"
        except (OSError, UnicodeDecodeError) as exc:
            self.netrc_problem = f"{path} cannot be read: {getattr(exc, 'strerror', None) or exc}"
        return False

    def _keyring_get(self, service: str, user: str) -> str | None:
        argv = [self.options.keyring_command, "get", service, user]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_KEYRING_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            self.keyring_problem = f"--keyring-provider subprocess: no {self.options.keyring_command!r} command on PATH"
            return None
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.keyring_problem = f"the keyring command failed: {type(exc).__name__}"
            return None
        if done.returncode != 0:
            return None
        password = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
        return password or None
