"""Compliance frameworks as data: `<framework>.yaml` lists every control (its id checked against the
framework's official structure, its title in our words) and, beside each control, the built-in
policies whose result is evidence for it, each with a one-line rationale. Policies never know
frameworks; a control with no policy is reported as manual, never as passing."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
REQUIREMENTS = ("required", "addressable")  # HIPAA implementation specifications
ASSESSMENTS = ("automated", "manual")  # CIS recommendations
COVERAGE = ("covered", "not_covered", "manual")  # benchmarks: what our library does of a recommendation
# How the built-in frameworks are listed: the regulations and standards, then the benchmarks.
ORDER = ("soc2", "hipaa", "iso27001", "pci-dss", "cis-aws", "cis-azure", "cis-gcp")


class FrameworkError(ValueError):
    """A framework file that does not hold together; the message names the framework and control."""


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    policy_ids: tuple[str, ...] = ()
    # policy id -> why its result is evidence for this control (built-in frameworks always say)
    rationales: Mapping[str, str] = field(default_factory=dict, compare=False)
    section: str | None = None
    requirement: str | None = None  # HIPAA: required or addressable
    level: int | None = None  # CIS profile level
    assessment: str | None = None  # CIS: automated or manual in the benchmark
    coverage: str | None = None  # benchmarks: covered, not_covered (automatable, no policy yet) or manual

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
    source: str | None = None  # what the control ids were checked against

    @property
    def policy_ids(self) -> frozenset[str]:
        return frozenset(pid for control in self.controls for pid in control.policy_ids)


def _control(item: dict[str, Any], framework_id: str) -> Control:
    control_id = str(item["id"])
    where = f"{framework_id} {control_id}"
    policies = item.get("policies") or {}
    if isinstance(policies, list):  # a tenant's framework: policy ids without rationale
        rationales = {}
        policy_ids = tuple(dict.fromkeys(str(p) for p in policies))
    else:
        rationales = {str(pid): str(why).strip() for pid, why in policies.items()}
        if any(not why for why in rationales.values()):
            raise FrameworkError(f"{where}: every mapping needs its rationale")
        policy_ids = tuple(rationales)
    for name, allowed in (("requirement", REQUIREMENTS), ("assessment", ASSESSMENTS), ("coverage", COVERAGE)):
        if item.get(name) is not None and item[name] not in allowed:
            raise FrameworkError(f"{where}: {name} must be one of {', '.join(allowed)}")
    coverage = item.get("coverage")
    if coverage is not None and (coverage == "covered") != bool(policy_ids):
        raise FrameworkError(f"{where}: coverage 'covered' if and only if it maps policies")
    return Control(
        id=control_id,
        title=str(item["title"]),
        policy_ids=policy_ids,
        rationales=rationales,
        section=item.get("section"),
        requirement=item.get("requirement"),
        level=item.get("level"),
        assessment=item.get("assessment"),
        coverage=coverage,
    )


def framework_from_document(document: dict, *, tenant_id: str | None = None) -> Framework:
    """A framework from its document: a built-in file (policies with rationales) or a tenant's own
    (policy id lists)."""
    controls = tuple(_control(item, document["id"]) for item in document["controls"])
    seen: set[str] = set()
    for control in controls:
        if control.id in seen:
            raise FrameworkError(f"{document['id']}: control {control.id} is listed twice")
        seen.add(control.id)
    return Framework(
        id=document["id"],
        name=document["name"],
        version=str(document.get("version", "")),
        controls=controls,
        tenant_id=tenant_id,
        source=document.get("source"),
    )


@functools.cache
def builtin_frameworks() -> dict[str, Framework]:
    frameworks = {}
    paths = sorted(HERE.glob("*.yaml"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem))
    for path in paths:
        framework = framework_from_document(yaml.safe_load(path.read_text()))
        if framework.id != path.stem:
            raise FrameworkError(f"framework id '{framework.id}' does not match its file {path.name}")
        frameworks[framework.id] = framework
    return frameworks
