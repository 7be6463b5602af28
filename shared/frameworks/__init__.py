"""Compliance frameworks as data: framework -> controls -> policy ids. Policies never know them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    policy_ids: tuple[str, ...]

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


def framework_from_document(document: dict, *, tenant_id: str | None = None) -> Framework:
    return Framework(
        id=document["id"],
        name=document["name"],
        version=str(document.get("version", "")),
        controls=tuple(
            Control(id=str(c["id"]), title=c["title"], policy_ids=tuple(c.get("policies") or ()))
            for c in document["controls"]
        ),
        tenant_id=tenant_id,
    )


@functools.cache
def builtin_frameworks() -> dict[str, Framework]:
    frameworks = {}
    for path in sorted(HERE.glob("*.yaml")):
        framework = framework_from_document(yaml.safe_load(path.read_text()))
        if framework.id != path.stem:
            raise ValueError(f"framework id '{framework.id}' does not match its file {path.name}")
        frameworks[framework.id] = framework
    return frameworks
