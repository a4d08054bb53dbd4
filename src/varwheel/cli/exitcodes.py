"""Documented exit codes of the ``varwheel`` command (also listed in the README)."""

from __future__ import annotations

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
