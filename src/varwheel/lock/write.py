"""``LockFile`` -> deterministic ``pylock.toml`` text (tomli-w; same lock, same bytes)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import tomli_w
from packaging.markers import Marker

from varwheel.lock.model import FORMAT, LOCK_VERSION, LockedPackage, LockedWheel, LockFile
from varwheel.lock.targets import target_marker
from varwheel.spec.metadata import to_v0_2_0_dict
from varwheel.spec.model import SchemaGeneration, VariantMetadata


def variants_table(
    md: VariantMetadata, labels: set[str], document: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """PEP 825 §"Integration with pylock.toml": the combined metadata, with the ``variants`` cut
    to ``labels`` (the labels of the wheels listed) and namespaces no listed label uses dropped
    from ``default-priorities.namespace``; every listed label's entry is kept in full. The
    published ``document`` is copied as it is (``$schema`` preserved) when given."""
    if document is not None:
        doc = copy.deepcopy(dict(document))
    elif md.generation is SchemaGeneration.PEP825:
        doc: dict[str, Any] = {
            "$schema": md.schema,
            "default-priorities": {"namespace": list(md.namespace_priorities)},
            "variants": {label: _tree(props) for label, props in sorted(md.variants.items())},
        }
    else:
        doc = to_v0_2_0_dict(md)
    variants = {k: v for k, v in doc["variants"].items() if k in labels}
    doc["variants"] = variants
    if "providers" not in doc:  # v0.1.x: namespaces are free to drop (no provider entries)
        used = {ns for tree in variants.values() for ns in tree}
        doc["default-priorities"]["namespace"] = [
            ns for ns in doc["default-priorities"]["namespace"] if ns in used
        ]
    return doc


def _tree(props: Any) -> dict[str, dict[str, list[str]]]:
    tree: dict[str, dict[str, list[str]]] = {}
    for p in sorted(props):
        tree.setdefault(p.namespace, {}).setdefault(p.feature, []).append(p.value)
    return tree


def _wheel(w: LockedWheel) -> dict[str, Any]:
    out: dict[str, Any] = {"name": w.filename.filename}
    if w.url is not None:
        out["url"] = w.url
    if w.path is not None:
        out["path"] = w.path
    if w.size is not None:
        out["size"] = w.size
    out["hashes"] = {"sha256": w.sha256}
    return out


def _package(p: LockedPackage, known: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "version": str(p.version)}
    if p.marker is not None:
        out["marker"] = str(p.marker)
    if p.requires_python:
        out["requires-python"] = p.requires_python
    if p.index:
        out["index"] = p.index
    deps = sorted(_dependency_names(p) & known)
    if deps:
        out["dependencies"] = [{"name": d} for d in deps]
    wheels = sorted(p.wheels, key=lambda w: w.filename.filename)
    out["wheels"] = [_wheel(w) for w in wheels]
    if p.variants is not None:
        labels = {w.label for w in wheels if w.label is not None}
        out["variants-json"] = variants_table(p.variants, labels, p.variants_document)
    tool: dict[str, Any] = {"requires-dist": list(p.requires_dist)}
    own = {
        w.filename.filename: list(w.requires_dist) for w in wheels if w.requires_dist is not None
    }
    if own:
        tool["wheel-requires-dist"] = own
    tool["targets"] = sorted(p.targets)
    out["tool"] = {"varwheel": tool}
    return out


def _dependency_names(p: LockedPackage) -> set[str]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    names = set()
    lines = list(p.requires_dist)
    for w in p.wheels:
        lines += list(w.requires_dist or ())
    for line in lines:
        try:
            names.add(canonicalize_name(Requirement(line.split(";", 1)[0]).name))
        except InvalidRequirement:
            continue
    return names


def lock_document(lock: LockFile) -> dict[str, Any]:
    known = {p.name for p in lock.packages}
    doc: dict[str, Any] = {"lock-version": LOCK_VERSION}
    if lock.environments:
        doc["environments"] = [_marker(m) for m in lock.environments]
    if lock.requires_python:
        doc["requires-python"] = lock.requires_python
    doc["created-by"] = lock.created_by
    doc["packages"] = [_package(p, known) for p in sorted(lock.packages, key=lambda p: p.name)]
    tool: dict[str, Any] = {"format": FORMAT, "requirements": list(lock.requirements)}
    if lock.inputs:
        tool["inputs"] = dict(lock.inputs)
    tool["targets"] = [
        {
            k: v
            for k, v in {
                "name": t.name,
                "profile": t.profile,
                "profile-sha256": t.profile_sha256,
                "environment": _marker(t.environment or target_marker(t.marker_env)),
            }.items()
            if v is not None
        }
        for t in lock.targets
    ]
    doc["tool"] = {"varwheel": tool}
    return doc


def _marker(text: str) -> str | None:
    """packaging's normal form (double quotes), so that reading and writing agree."""
    return str(Marker(text)) if text else None


def dumps(lock: LockFile) -> str:
    header = (
        "# This file is @generated by varwheel (`varwheel lock`); PEP 751 with PEP 825 variant\n"
        "# wheels. Install it with `varwheel install -r pylock.toml` or `varwheel sync`.\n"
    )
    return header + tomli_w.dumps(lock_document(lock))
