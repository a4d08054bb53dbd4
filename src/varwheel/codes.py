"""The closed vocabularies varwheel reports in: why a wheel was rejected, where variant
metadata came from, what kind of file was inspected, what ``explain`` says of a wheel.

Each enum is a ``str`` subclass whose values are the strings the JSON outputs always carried
(``explain --json``, ``inspect --json``, ``install --report``), so documents are unchanged
and a member compares equal to its value. ``str(member)`` and f-strings give the value.
This module imports nothing of varwheel: every layer may use it.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "EnvironmentSource",
    "ExplainStatus",
    "FileKind",
    "MetadataRoute",
    "ReasonCode",
    "SupportSource",
    "UploadOutcome",
]


class _Text(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class ReasonCode(_Text):
    """``Reason.code``: why a variant or wheel is not a candidate (``explain --json``
    ``wheels[].reason.code``)."""

    TAG_MISMATCH = "tag-mismatch"
    NO_METADATA = "no-metadata"
    LABEL_NOT_IN_METADATA = "label-not-in-metadata"
    NAMESPACE_UNAVAILABLE = "namespace-unavailable"
    FEATURE_UNSUPPORTED = "feature-unsupported"
    FORBIDDEN = "forbidden"
    NOT_REQUESTED = "not-requested"
    VARIANTS_DISABLED = "variants-disabled"


class MetadataRoute(_Text):
    """How a release's variant metadata was read (``explain --json`` ``metadata_route``)."""

    INDEX = "index variants.json"
    RANGE = "per-wheel variant.json (range requests)"
    WHOLE = "per-wheel variant.json (whole downloads)"
    LOCAL = "per-wheel variant.json (local files)"
    NONE = "no variant wheels"


class FileKind(_Text):
    """What ``varwheel inspect`` found (``inspect --json`` ``kind``)."""

    WHEEL = "wheel"
    VARIANT_JSON = "variant.json"
    VARIANTS_JSON = "variants.json"
    PYPROJECT = "pyproject"


class ExplainStatus(_Text):
    """What ``explain`` says of one wheel (``explain --json`` ``wheels[].status``)."""

    CHOSEN = "chosen"
    COMPATIBLE = "compatible"
    REJECTED = "rejected"


class SupportSource(_Text):
    """Where a namespace's supported properties came from (``detect --json`` keeps the
    human ``source`` text; this is its kind)."""

    NATIVE = "native"
    PROFILE = "profile"
    PLUGIN = "plugin"
    EXTERNAL = "external"
    OPTIONAL = "optional"
    ENABLE_IF = "enable-if"
    NONE = "none"


class EnvironmentSource(_Text):
    """How the target environment was found (``install --report`` / ``explain --json``
    ``target_environment.source``)."""

    PYTHON = "--python"
    VIRTUAL_ENV = "$VIRTUAL_ENV"
    PROJECT_VENV = "./.venv"
    TARGET_DIRECTORY = "--target"
    RUNNING = "running interpreter"
    NONE = ""  # made from an interpreter's facts directly (tests, tools)


class UploadOutcome(_Text):
    """What ``publish`` did with one file (``UploadResult.outcome``)."""

    UPLOADED = "uploaded"
    EXISTS = "exists"  # the server has the file already (--skip-existing; devpi: identical bytes)
