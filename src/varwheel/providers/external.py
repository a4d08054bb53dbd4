"""External-command providers: any executable the USER configured for a namespace
(``[providers.external]`` in the config, or ``--external-provider ns=cmd``).

Protocol (docs/provider-protocol.md): argv gets ``--request FILE --response FILE``; the request
is ``{"protocol": 1, "namespace": ns, "query": "get_all_configs" | "get_supported_configs"}``,
the response ``{"namespace": ns, "configs": [{"name", "values", "multi_value"}]}``. The command is
trusted because the user named it, but still isolated: a fresh temp dir as cwd, a minimal
environment, its own process group, killed on timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from varwheel.providers.runner import (
    MAX_RESPONSE,
    BadAnswer,
    ResponseRefused,
    last_line,
    parse_answer,
    read_bounded,
    run_isolated,
)

QUERIES = ("get_all_configs", "get_supported_configs")
# Passed through from varwheel's environment; everything else is withheld.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")


class ExternalFailure(Exception):
    """The command broke the protocol; ``str()`` is one line for the user."""


def minimal_env(tmpdir: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    env = {key: source[key] for key in PASSED_ENV if key in source}
    env["TMPDIR"] = tmpdir
    env.setdefault("PATH", os.defpath)
    return env


def query_external(
    namespace: str, command: Sequence[str], query: str, *, timeout: float
) -> list[Mapping[str, Any]]:
    """Run ``command`` for one query; returns the raw configs (validated by the caller)."""
    if query not in QUERIES:
        raise ValueError(query)
    if not command:
        raise ExternalFailure("empty command")
    with tempfile.TemporaryDirectory(
        prefix="varwheel-external-", ignore_cleanup_errors=True
    ) as work:
        request = Path(work, "request.json")
        response = Path(work, "response.json")
        request.write_text(json.dumps({"protocol": 1, "namespace": namespace, "query": query}))
        cmd = [*command, "--request", str(request), "--response", str(response)]
        try:
            done = run_isolated(cmd, timeout=timeout, cwd=work, env=minimal_env(work))
        except subprocess.TimeoutExpired as exc:
            raise ExternalFailure(f"timed out after {timeout:g} s (killed)") from exc
        except OSError as exc:
            raise ExternalFailure(f"cannot run {command[0]!r}: {exc.strerror or exc}") from exc
        if done.returncode != 0:
            raise ExternalFailure(f"exited with code {done.returncode}: {last_line(done.stderr)}")
        try:
            data = read_bounded(response)
            if data is None:
                raise ExternalFailure(f"response is larger than {MAX_RESPONSE} bytes")
            doc = parse_answer(data)
        except FileNotFoundError as exc:
            raise ExternalFailure("wrote no response file") from exc
        except ResponseRefused as exc:
            raise ExternalFailure(str(exc)) from None
        except BadAnswer as exc:
            raise ExternalFailure(f"response {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("configs"), list):
        raise ExternalFailure("response must be an object with a 'configs' list")
    if doc.get("namespace") != namespace:
        raise ExternalFailure(
            f"answered for namespace {doc.get('namespace')!r:.80}, expected {namespace!r}"
        )
    return doc["configs"]
