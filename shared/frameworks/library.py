"""Compliance frameworks as data: `<framework>.yaml` lists the controls, `mappings/<provider>.yaml`
maps each built-in policy to the controls it evidences. Policies never know frameworks."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    policy_ids: tuple[str, ...] = ()

    @property
    def automated(self) -> bool:
        """A control with no automated policy is reported as manual, never as passing."""
        return bool(self.policy_ids)


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    controls: tuple[Control, ...]
    tenant_id: str | None = None

    @property
    def policy_ids(self) -> frozenset[str]:
        return frozenset(pid for control in self.controls for pid in control.policy_ids)


def framework_from_document(
    document: dict, mapped: dict[str, list[str]] | None = None, *, tenant_id: str | None = None
) -> Framework:
    """A framework from its document; control policies come from the document's own `policies`
    lists (custom frameworks) and from `mapped` (control id -> policy ids, built-in mappings)."""
    mapped = mapped or {}
    controls = []
    for item in document["controls"]:
        control_id = str(item["id"])
        policy_ids = tuple(dict.fromkeys([*(item.get("policies") or ()), *mapped.get(control_id, ())]))
        controls.append(Control(id=control_id, title=item["title"], policy_ids=policy_ids))
    return Framework(
        id=document["id"],
        name=document["name"],
        version=str(document.get("version", "")),
        controls=tuple(controls),
        tenant_id=tenant_id,
    )


@functools.cache
def builtin_mappings() -> dict[str, dict[str, list[str]]]:
    """policy id -> framework id -> control ids, over every provider's mapping file."""
    merged: dict[str, dict[str, list[str]]] = {}
    for path in sorted((HERE / "mappings").glob("*.yaml")):
        for policy_id, frameworks in (yaml.safe_load(path.read_text()) or {}).items():
            if policy_id in merged:
                raise ValueError(f"policy {policy_id} is mapped in two files (second: {path.name})")
            merged[policy_id] = {fw: [str(c) for c in controls] for fw, controls in frameworks.items()}
    return merged


@functools.cache
def builtin_frameworks() -> dict[str, Framework]:
    by_framework: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for policy_id, frameworks in builtin_mappings().items():
        for framework_id, control_ids in frameworks.items():
            for control_id in control_ids:
                by_framework[framework_id][control_id].append(policy_id)
    frameworks = {}
    for path in sorted(HERE.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        if document["id"] != path.stem:
            raise ValueError(f"framework id '{document['id']}' does not match its file {path.name}")
        known = {str(c["id"]) for c in document["controls"]}
        unknown = set(by_framework[document["id"]]) - known
        if unknown:
            raise ValueError(f"mappings name controls that {path.name} does not have: {sorted(unknown)}")
        frameworks[document["id"]] = framework_from_document(document, by_framework[document["id"]])
    return frameworks
