"""Documented exit codes of the ``varwheel`` command (also listed in the README)."""

from __future__ import annotations

import errno

from varwheel import errors

OK = 0
FAILURE = 1  # resolution or installation failed, nothing changed
INVALID_INPUT = 2  # malformed file, filename, JSON, TOML, index page, usage error
PROVIDER_FAILURE = 3  # a provider failed and --strict-providers was given
NETWORK_FAILURE = 4  # an index or file could not be fetched
INTERRUPTED = 130


def for_error(err: BaseException) -> int:
    """Map an exception to the exit code the CLI returns for it."""
    if isinstance(err, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(err, errors.InvalidInput):
        return INVALID_INPUT
    if isinstance(err, errors.ProviderError):
        return PROVIDER_FAILURE
    if isinstance(err, errors.IndexFetchError):
        return NETWORK_FAILURE
    return FAILURE


# a path the user gave that cannot be used as one
_INPUT_ERRNOS = frozenset(
    {
        errno.ENAMETOOLONG,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ELOOP,
        errno.EINVAL,
        errno.EACCES,
        errno.EPERM,
        errno.ENXIO,
        errno.ENODEV,
    }
)


def _short(name: object, limit: int = 120) -> str:
    text = str(name)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}…{text[-limit // 4 :]} ({len(text)} characters)"


def last_resort(err: BaseException) -> tuple[int, str] | None:
    """``(exit code, one line)`` for an exception no varwheel layer turned into a VarwheelError
    (a safety net: parsers and readers should raise ``InvalidInput`` themselves), or None for a
    bug, which keeps its traceback. Network errors exit 4, unusable paths and input values 2."""
    import socket
    import ssl

    if isinstance(err, (ConnectionError, TimeoutError, socket.gaierror, ssl.SSLError)):
        return NETWORK_FAILURE, f"network error: {err}"
    if isinstance(err, OSError):
        where = f"{_short(err.filename)}: " if err.filename is not None else ""
        reason = err.strerror or str(err)
        code = INVALID_INPUT if err.errno in _INPUT_ERRNOS else FAILURE
        return code, f"{where}{reason}"
    if isinstance(err, RecursionError):
        return INVALID_INPUT, "the input is nested too deeply (Python's recursion limit)"
    if isinstance(err, UnicodeError):
        return INVALID_INPUT, f"the input is not valid text: {_short(err, 200)}"
    if isinstance(err, ValueError):
        text = str(err)
        if "integer string conversion" in text or "int_max_str_digits" in text:
            return INVALID_INPUT, (
                "the input has an integer with more than 4300 digits (Python's limit)"
            )
        if "null byte" in text or "null character" in text:
            return INVALID_INPUT, "a path or argument contains a NUL byte"
    return None
