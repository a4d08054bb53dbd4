"""Exception hierarchy. Every message is user-facing: one line, naming the input and the reason.

The CLI maps these classes to exit codes (see ``varwheel.cli.exitcodes``).
"""

from __future__ import annotations


class VarwheelError(Exception):
    """Base class. ``str(err)`` is the one-line message shown to the user."""


class InvalidInput(VarwheelError):
    """Input that a user or index supplied is malformed (exit code 2)."""


class InvalidFilename(InvalidInput):
    """A wheel or ``*-variants.json`` filename does not follow the spec."""


class InvalidLabel(InvalidInput):
    """A variant label does not match ``^[0-9a-z_.]+$`` or misuses ``null``."""


class InvalidProperty(InvalidInput):
    """A variant property string or component does not match the PEP regexes."""


class InvalidMetadata(InvalidInput):
    """Variant metadata (pyproject ``[variant]``, ``variant.json``, ``*-variants.json``) is invalid.

    ``path`` is the dotted location inside the document (``providers.nvidia.plugin-api``),
    ``source`` the file or URL it came from, when known.
    """

    def __init__(self, reason: str, *, path: str = "", source: str | None = None) -> None:
        self.reason = reason
        self.path = path
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        prefix = f"{self.source}: " if self.source else ""
        return f"{prefix}{where}{self.reason}"

    def with_source(self, source: str) -> InvalidMetadata:
        """Return a copy of this error naming ``source`` (the file/URL)."""
        err = type(self)(self.reason, path=self.path, source=source)
        err.__cause__ = self.__cause__
        return err


class UnsupportedSchema(InvalidMetadata):
    """``$schema`` names a major version (or URL) this varwheel cannot read."""


class MergeConflict(InvalidInput):
    """Two variant metadata documents cannot be combined; the message names both sources."""


class InvalidMarker(InvalidInput):
    """A Requires-Dist marker using variant markers is malformed."""


class InvalidProfile(InvalidInput):
    """A target profile TOML file is malformed."""


class InvalidBuildConfig(InvalidInput):
    """``[tool.varwheel.build]`` (the declared build matrix) is invalid; ``path`` is the dotted
    location (``tool.varwheel.build.variants[1].label``), ``source`` the pyproject.toml."""

    def __init__(self, reason: str, *, path: str = "", source: str | None = None) -> None:
        self.reason = reason
        self.path = path
        self.source = source
        where = f"{path}: " if path else ""
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{where}{reason}")


class ProviderError(VarwheelError):
    """A variant provider could not be run or returned invalid output."""


class IndexFetchError(VarwheelError):
    """An index page, file or HTTP exchange failed or was malformed."""


class ResolutionError(VarwheelError):
    """No set of distributions satisfies the requirements (exit code 1)."""


class InstallError(VarwheelError):
    """Installation failed; the target environment was left as it was."""


class HashMismatch(IndexFetchError):
    """A downloaded file's digest differs from the one the index published."""


class WheelMemberNotFound(IndexFetchError):
    """A wheel read through the index has no member with the requested name."""


class InvalidIndexPage(InvalidInput):
    """A simple-API project page (PEP 503 HTML or PEP 691 JSON) is malformed."""


class DownloadMismatch(InstallError):
    """A downloaded wheel disagrees with the metadata used to choose it (its own
    ``variant.json`` or ``METADATA``); the message names the wheel and the difference."""


class NoTargetEnvironment(InstallError, InvalidInput):
    """No usable target environment was named or found (``--python``, ``$VIRTUAL_ENV``,
    ``./.venv``); a usage error (exit code 2, as uv), still an ``InstallError``."""


class ExternallyManaged(NoTargetEnvironment):
    """The target interpreter is externally managed (PEP 668) and ``--break-system-packages``
    was not given; the message quotes the distributor's ``EXTERNALLY-MANAGED`` text."""


class StuckTransaction(InstallError):
    """An interrupted install/uninstall of an environment can be neither rolled back nor
    completed (or its journal is not varwheel's own): nothing more is done to the environment
    until it is settled. The message is one line naming the environment, the obstacle and the
    command that settles it; every later command refuses with that same line."""


class CacheBusy(VarwheelError):
    """``varwheel cache clear`` found another varwheel holding the cache lock (exit code 1):
    clearing would pull unpacked wheels or plugin venvs from under it."""
