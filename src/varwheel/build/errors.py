"""Errors of the build layer (``varwheel.errors`` classes, so the CLI maps their exit codes)."""

from __future__ import annotations

from varwheel.errors import InvalidInput, VarwheelError

__all__ = ["BuildFailed", "InvalidBuildRequest", "InvalidWheel", "OutputNotWritten"]


class InvalidBuildRequest(InvalidInput):
    """A variant request (properties, label, null) the project or its providers refuse (exit 2)."""


class InvalidWheel(InvalidInput):
    """A wheel given to, or produced by, a build step is broken or lies about its variant
    (exit 2); nothing was written."""


class BuildFailed(VarwheelError):
    """The PEP 517 backend or a repair tool failed (exit 1); nothing was written. ``log``: the
    last lines of its output (the CLI shows them with ``-v``)."""

    def __init__(self, message: str, *, log: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.log = log


class OutputNotWritten(VarwheelError):
    """The output directory could not take the result (full disk, file size limit, read-only):
    exit 1, nothing left there. The message names the directory and the system's reason."""

    @classmethod
    def from_os_error(cls, out_dir: object, name: str, exc: OSError) -> OutputNotWritten:
        return cls(f"{out_dir}: cannot write {name}: {exc.strerror or exc}; nothing was written")
