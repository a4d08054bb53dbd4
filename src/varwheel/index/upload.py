"""Upload one distribution file through the legacy upload API, as twine does.

The API (the one PyPI's Warehouse, pypiserver and devpi-server implement): a
``multipart/form-data`` POST to the repository URL with ``:action=file_upload``,
``protocol_version=1``, the core metadata fields (``name``, ``version``, ``summary``,
``requires_dist``... from the wheel's ``METADATA`` or the sdist's ``PKG-INFO``), ``filetype``
(``bdist_wheel``/``sdist``), ``pyversion`` (the wheel's Python tag, ``source`` for an sdist),
``md5_digest``, ``sha256_digest``, ``blake2_256_digest`` and the file as ``content``; HTTP Basic
credentials. The body is streamed from the file (progress per chunk), never loaded whole.

Servers answer a file they already have differently: pypiserver 409 ``Package '…' already
exists!``, devpi 409 on other content and 200 ``Upload of identical file to non volatile
index.`` on the same bytes, Warehouse 400 ``File already exists``, Nexus 400/403 mentioning
``overwrite``. :func:`upload_file` turns these into ``"exists"`` (with ``skip_existing``) or an
:class:`UploadRefused` naming the file, the HTTP status and the server's reason in one line.
Connection errors and 5xx answers are retried with exponential backoff.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import tarfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

from varwheel.codes import UploadOutcome
from varwheel.errors import IndexFetchError, InvalidInput
from varwheel.index.credentials import Repository
from varwheel.index.dists import SDIST, WHEEL, file_kind
from varwheel.index.http import USER_AGENT
from varwheel.index.range_zip import read_zip_member
from varwheel.spec.filenames import parse_wheel_filename

__all__ = [
    "UploadRefused",
    "UploadResult",
    "server_reason",
    "upload_fields",
    "upload_file",
    "upload_pool",
]

RETRY_STATUSES = frozenset({500, 502, 503, 504})
CHUNK = 64 * 1024
# An answer to an upload is a status and a line of text: more is never read (a hostile or broken
# server may stream gigabytes), and the connection is then closed, not reused.
MAX_ANSWER = 64 * 1024
DEFAULT_TIMEOUT = 300.0  # seconds without a byte of the answer (PyPI may scan a big file)

# METADATA header -> form field; the repeated ones are sent once per value (twine's mapping)
_SINGLE = {
    "Metadata-Version": "metadata_version",
    "Name": "name",
    "Version": "version",
    "Summary": "summary",
    "Home-page": "home_page",
    "Author": "author",
    "Author-email": "author_email",
    "Maintainer": "maintainer",
    "Maintainer-email": "maintainer_email",
    "License": "license",
    "License-Expression": "license_expression",
    "Keywords": "keywords",
    "Download-URL": "download_url",
    "Description-Content-Type": "description_content_type",
    "Requires-Python": "requires_python",
}
_MULTI = {
    "Classifier": "classifiers",
    "Platform": "platform",
    "Supported-Platform": "supported_platform",
    "Requires-Dist": "requires_dist",
    "Provides-Dist": "provides_dist",
    "Obsoletes-Dist": "obsoletes_dist",
    "Requires-External": "requires_external",
    "Project-URL": "project_urls",
    "Provides-Extra": "provides_extra",
    "Dynamic": "dynamic",
    "License-File": "license_file",
}
_EXISTS = re.compile(
    r"already exists|file exists|identical file|overwrite artifact|cannot be overwritten|"
    r"updating asset|already been taken",
    re.IGNORECASE,
)


class UploadRefused(IndexFetchError):
    """The server answered the upload with an error (exit 4); ``status`` and ``reason`` are the
    server's, ``exists`` says it refused because it already has the file."""

    def __init__(self, message: str, *, status: int, reason: str, exists: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.exists = exists


@dataclass(frozen=True)
class UploadResult:
    filename: str
    outcome: UploadOutcome
    status: int
    reason: str
    attempts: int


def _core_metadata(path: Path) -> bytes:
    kind = file_kind(path.name)
    try:
        if kind == WHEEL:
            return read_zip_member(path, ".dist-info/METADATA", path.name)
        if kind == SDIST and path.name.endswith(".zip"):
            return read_zip_member(path, "/PKG-INFO", path.name)
        if kind == SDIST:
            with tarfile.open(path) as tar:
                members = [m for m in tar.getmembers() if m.isfile()]
                found = [m for m in members if m.name.count("/") == 1]
                found = [m for m in found if m.name.endswith("/PKG-INFO")]
                if not found:
                    raise InvalidInput(f"{path.name}: sdist has no top-level */PKG-INFO")
                handle = tar.extractfile(found[0])
                assert handle is not None
                return handle.read(16 * 1024 * 1024)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, IndexFetchError) as exc:
        raise InvalidInput(f"{path.name}: cannot read its metadata: {exc}") from None
    raise InvalidInput(f"{path.name}: not a wheel or an sdist; cannot upload it")


def upload_fields(path: Path) -> list[tuple[str, str]]:
    """The form fields twine sends for ``path`` (everything but ``content``)."""
    raw = _core_metadata(path)
    msg: Message = BytesParser(policy=compat32).parsebytes(raw)
    if not msg.get("Name") or not msg.get("Version"):
        raise InvalidInput(f"{path.name}: its metadata has no Name or Version")
    fields: list[tuple[str, str]] = [(":action", "file_upload"), ("protocol_version", "1")]
    for header, key in _SINGLE.items():
        value = msg.get(header)
        if value is not None:
            fields.append((key, str(value)))
    for header, key in _MULTI.items():
        fields += [(key, str(v)) for v in msg.get_all(header) or ()]
    body = msg.get_payload()
    description = msg.get("Description")
    if isinstance(body, str) and body.strip():
        fields.append(("description", body))
    elif description:
        fields.append(("description", str(description)))
    if file_kind(path.name) == WHEEL:
        fields += [
            ("filetype", "bdist_wheel"),
            ("pyversion", parse_wheel_filename(path.name).python_tag),
        ]
    else:
        fields += [("filetype", "sdist"), ("pyversion", "source")]
    digests = {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}
    digests["blake2_256"] = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            for h in digests.values():
                h.update(chunk)
    fields += [(f"{name}_digest", h.hexdigest()) for name, h in digests.items()]
    return fields


class _Body(io.RawIOBase):
    """The multipart body: a prefix, the file streamed, a suffix; ``on_read(sent, total)``."""

    def __init__(
        self, prefix: bytes, path: Path, suffix: bytes, on_read: Callable[[int, int], None] | None
    ) -> None:
        self._parts: Iterator[bytes] = self._chunks(prefix, path, suffix)
        self._buffer = b""
        self.total = len(prefix) + path.stat().st_size + len(suffix)
        self._sent = 0
        self._on_read = on_read

    @staticmethod
    def _chunks(prefix: bytes, path: Path, suffix: bytes) -> Iterator[bytes]:
        yield prefix
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
        yield suffix

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and (part := next(self._parts, None)):
            self._buffer += part
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        self._sent += len(out)
        if self._on_read is not None and out:
            self._on_read(self._sent, self.total)
        return out


def _multipart(
    fields: list[tuple[str, str]], path: Path, on_read: Callable[[int, int], None] | None
) -> tuple[_Body, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for key, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode())
        out.write(value.encode("utf-8") + b"\r\n")
    filename = path.name.replace('"', "%22")
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
    )
    suffix = f"\r\n--{boundary}--\r\n".encode()
    return _Body(out.getvalue(), path, suffix, on_read), f"multipart/form-data; boundary={boundary}"


def server_reason(status: int, http_reason: str, body: bytes, content_type: str) -> str:
    """The server's reason in one line: the text of an error page (pypiserver puts it in
    ``<pre>``), a JSON ``message``, or the first line of a plain-text answer."""
    text = body[: 64 * 1024].decode("utf-8", "replace")
    found = ""
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        for tag in ("pre", "h1", "title"):
            match = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", text, re.IGNORECASE | re.DOTALL)
            if match and (inner := re.sub(r"<[^>]+>", "", match.group(1)).strip()):
                found = html.unescape(inner)
                break
    elif "json" in content_type.lower():
        import json

        try:
            doc = json.loads(text)
            found = (
                str(doc.get("message") or doc.get("detail") or "") if isinstance(doc, dict) else ""
            )
        except ValueError:
            found = ""
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # devpi repeats the status line as the body's first line
        if lines and lines[0].startswith(f"{status} "):
            lines[0] = lines[0][len(f"{status} ") :]
        found = lines[0] if lines else ""
    # a reason phrase is the server's text too: whitespace-only or multi-line ones collapse
    found = " ".join(found.split()) or " ".join(http_reason.split()) or "no reason given"
    return found if len(found) <= 300 else found[:297] + "..."


def upload_pool(url: str):  # type: ignore[no-untyped-def]  # urllib3 imported lazily
    """A connection pool for ``url``: through ``https_proxy``/``http_proxy`` from the environment
    unless ``no_proxy`` or loopback says otherwise."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    import urllib3

    scheme = urlsplit(url).scheme
    proxy = getproxies().get(scheme)
    host = urlsplit(url).hostname or ""
    if proxy and host not in ("localhost", "127.0.0.1", "::1") and not proxy_bypass(host):
        return urllib3.ProxyManager(proxy)
    return urllib3.PoolManager()


def upload_file(
    repository: Repository,
    path: Path,
    *,
    skip_existing: bool = False,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
    pool=None,  # type: ignore[no-untyped-def]  # a urllib3 PoolManager to share
) -> UploadResult:
    """Upload ``path`` to ``repository``; raise :class:`UploadRefused` (the server said no) or
    :class:`IndexFetchError` (no answer after ``retries`` retries)."""
    import urllib3
    from urllib3.util import Timeout, make_headers

    fields = upload_fields(path)
    manager = pool or upload_pool(repository.url)
    headers = {"User-Agent": USER_AGENT}
    auth = repository.credentials.basic_auth
    if auth is not None:
        headers.update(make_headers(basic_auth=auth))
    attempt = 0
    while True:
        attempt += 1
        body, content_type = _multipart(fields, path, progress)
        try:
            resp = manager.request(
                "POST",
                repository.url,
                body=body,
                headers={
                    **headers,
                    "Content-Type": content_type,
                    "Content-Length": str(body.total),
                },
                retries=False,
                redirect=False,
                timeout=Timeout(connect=min(10.0, timeout), read=timeout),
                preload_content=False,
            )
            data = _bounded_body(resp)
        except urllib3.exceptions.HTTPError as exc:
            if attempt <= retries:
                time.sleep(backoff * 2 ** (attempt - 1))
                continue
            inner = getattr(exc, "reason", None) or exc
            why = str(inner).split(">: ")[-1] or type(inner).__name__
            if isinstance(inner, urllib3.exceptions.ReadTimeoutError):
                why = f"no answer within {timeout:g} s (--timeout)"
            raise IndexFetchError(
                f"upload of {path.name} to {repository.url} failed after {attempt} attempt(s): {why}"
            ) from None
        status = resp.status
        reason = server_reason(
            status, resp.reason or "", data, resp.headers.get("content-type", "")
        )
        if status in RETRY_STATUSES and attempt <= retries:
            time.sleep(backoff * 2 ** (attempt - 1))
            continue
        if 200 <= status < 300:
            outcome = UploadOutcome.UPLOADED
            if "identical file" in reason.lower():  # devpi: the same bytes, already there
                outcome = UploadOutcome.EXISTS  # (not an error)
            return UploadResult(path.name, outcome, status, reason, attempt)
        exists = status in (400, 403, 409) and bool(_EXISTS.search(reason))
        if status == 409:
            exists = True
        if exists and (skip_existing or attempt > 1):
            # after a retry, "exists" means our earlier attempt arrived
            return UploadResult(path.name, UploadOutcome.EXISTS, status, reason, attempt)
        raise UploadRefused(
            _refusal(path.name, repository, status, resp.reason or "", reason, resp, exists),
            status=status,
            reason=reason,
            exists=exists,
        )


def _redirect_hint(url: str, location: str) -> str:
    """What to do about a redirect, which is never followed (as twine: a POST with credentials
    must not be re-sent blindly). Another host, or https to http, is not suggested as the URL."""
    from urllib.parse import urljoin, urlsplit

    from varwheel.index.http import split_credentials

    target, _ = split_credentials(urljoin(url, location.strip())) if location else ("", None)
    old, new = urlsplit(url), urlsplit(target)
    if not target or not new.hostname:
        return " (a redirect without a usable Location; not followed)"
    if (new.hostname, new.port) != (old.hostname, old.port) or (
        old.scheme == "https" and new.scheme != "https"
    ):
        return (
            f" (redirects to another host or to plain http, {new.scheme}://{new.netloc}; not "
            "followed and no credentials sent there: check the repository URL)"
        )
    return f" (redirected to {target}; not followed: use that URL as --repository-url)"


def _bounded_body(resp) -> bytes:  # type: ignore[no-untyped-def]  # urllib3 response
    """At most :data:`MAX_ANSWER` bytes of the answer; a longer one is cut and its connection
    closed (reading on would let the server fill memory, draining it would wait for it)."""
    try:
        data = resp.read(MAX_ANSWER + 1, decode_content=True)
        if len(data) > MAX_ANSWER:  # read(amt) returns less only at the end of the body
            resp.close()
            return data[:MAX_ANSWER]
        resp.release_conn()
        return data
    except BaseException:
        resp.close()
        raise


def _refusal(
    filename: str,
    repository: Repository,
    status: int,
    http_reason: str,
    reason: str,
    resp,  # type: ignore[no-untyped-def]
    exists: bool,
) -> str:
    head = f"{repository.url} refused {filename}: HTTP {status}"
    if http_reason and http_reason != reason:
        head += f" {http_reason}"
    message = f"{head}: {reason}"
    if 300 <= status < 400:
        message += _redirect_hint(repository.url, resp.headers.get("location", ""))
    elif exists:
        message += " (--skip-existing skips files the server already has)"
    elif status in (401, 403):
        message += f" (credentials: {repository.credentials.source})"
    return message
