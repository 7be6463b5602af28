"""The policy catalogue a tenant sees: built-in policies and frameworks, and selection by scope."""

from __future__ import annotations

import difflib
import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.catalog.models import CustomFramework, CustomPolicy
from shared.frameworks.library import Framework, builtin_frameworks, framework_from_document
from shared.platform.errors import Conflict, InvalidRequest, NotFound
from shared.policies.policy import Policy, PolicyError, builtin_policies, load_policy

log = logging.getLogger(__name__)


# Valid names listed in an error message, at most: enough for frameworks, a pointer for policies.
LISTED_NAMES = 20


def unknown_names(unknown: Iterable[str], known: Iterable[str]) -> str:
    """`soc-2 (did you mean soc2?)`: each unknown name, with the closest known one when one is close."""
    known = list(known)
    named = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        named.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return ", ".join(named)


def listed(names: Iterable[str], limit: int = LISTED_NAMES) -> str:
    """Sorted names, the first `limit` of them and how many there are in all when there are more."""
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return f"{shown}, ... ({len(names)} in all)" if len(names) > limit else shown


def unknown_frameworks(unknown: Iterable[str], known: Iterable[str]) -> str:
    """What every refusal of a framework id says: the id, the closest one, and the valid ones."""
    known = list(known)
    return f"Unknown framework(s): {unknown_names(unknown, known)}; the frameworks are {listed(known)}"


def unknown_policies(unknown: Iterable[str], known: Iterable[str]) -> str:
    return f"Unknown policy id(s): {unknown_names(unknown, known)}; GET /v1/policies lists them"


class SelectionError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Catalog:
    policies: dict[str, Policy]
    frameworks: dict[str, Framework]

    @classmethod
    def builtin(cls) -> Catalog:
        return cls(builtin_policies(), builtin_frameworks())

    @cached_property
    def groups(self) -> dict[str, frozenset[str]]:
        """Named groups such as `pol_encryption`, usable wherever a policy id is."""
        groups: dict[str, set[str]] = {}
        for policy in self.policies.values():
            for group in policy.groups:
                groups.setdefault(group, set()).add(policy.id)
        return {name: frozenset(ids) for name, ids in groups.items()}

    def expand(self, names: Iterable[str]) -> tuple[set[str], list[str]]:
        """Policy ids named directly or through a group, and the names that are neither."""
        ids: set[str] = set()
        unknown: list[str] = []
        for name in names:
            if name in self.policies:
                ids.add(name)
            elif name in self.groups:
                ids |= self.groups[name]
            else:
                unknown.append(name)
        return ids, unknown

    @cached_property
    def _controls_by_policy(self) -> dict[str, dict[str, list[str]]]:
        """Policy id -> framework -> control ids that cite it: one walk over every control, once."""
        found: dict[str, dict[str, list[str]]] = {}
        for framework in self.frameworks.values():
            for control in framework.controls:
                for policy_id in control.policy_ids:
                    found.setdefault(policy_id, {}).setdefault(framework.id, []).append(control.id)
        return found

    def mappings(self, policy_id: str) -> dict[str, list[str]]:
        """Framework -> control ids that cite the policy (derived from the frameworks' data; shared,
        not to be changed by the caller)."""
        return self._controls_by_policy.get(policy_id, {})

    def select(
        self,
        providers: Iterable[str],
        frameworks: Iterable[str] = (),
        include_policies: Iterable[str] = (),
    ) -> list[Policy]:
        """The policies a scan evaluates: the frameworks' policies (all when none are named),
        narrowed to `include_policies` when given, for the scan's providers."""
        providers, frameworks, include = set(providers), list(frameworks), list(include_policies)
        missing = [f for f in frameworks if f not in self.frameworks]
        if missing:
            raise SelectionError(
                "frameworks",
                unknown_frameworks(missing, self.frameworks),
            )
        candidates = set(self.policies)
        if frameworks:
            candidates = set().union(*(self.frameworks[f].policy_ids for f in frameworks)) & candidates
        if include:
            wanted, unknown = self.expand(include)
            if unknown:
                known = [*self.policies, *self.groups]
                raise SelectionError(
                    "scope.include_policies",
                    f"Unknown policy id(s) or group(s): {unknown_names(unknown, known)}; "
                    "GET /v1/policies lists the policies and their groups",
                )
            candidates &= wanted
        if "hybrid" in providers:
            # Pushed inventories hold resources of any provider, evaluated by that provider's policies.
            providers |= {policy.provider for policy in self.policies.values()}
        selected = [self.policies[pid] for pid in sorted(candidates) if self.policies[pid].provider in providers]
        if not selected:
            where = "scope.include_policies" if include else "frameworks" if frameworks else "cloud_providers"
            raise SelectionError(where, "No policy matches the selected frameworks, policies and providers")
        return selected


class ReadOnly(Conflict):
    description = "Built-in policies and frameworks cannot be changed"


def owned_row(session: Session, model, builtin: dict, kind: str, tenant_id: str, entry_id: str):
    """The tenant's own policy or framework row, locked; a built-in id is read-only, others 404."""
    row = session.get(model, (tenant_id, entry_id), with_for_update=True)
    if row is None:
        if entry_id in builtin:
            raise ReadOnly(f"{kind} {entry_id} is built in and read-only")
        raise NotFound(f"{kind} {entry_id} does not exist")
    return row


def check_patch(changes: Any, entry_id: str, kind: str) -> None:
    """A merge patch is an object, and it cannot change the entry's id."""
    if not isinstance(changes, dict):
        raise InvalidRequest(details=[{"field": "body", "message": "Expected a JSON object"}])
    if "id" in changes and changes["id"] != entry_id:
        raise InvalidRequest(details=[{"field": "id", "message": f"A {kind}'s id cannot change"}])


@functools.lru_cache(maxsize=4096)
def _compiled(tenant_id: str, document: str) -> Policy:
    # Keyed by the document itself: an edited policy is compiled again, an unchanged one never.
    return load_policy(json.loads(document), tenant_id=tenant_id)


def catalog_for(session: Session, tenant_id: str) -> Catalog:
    """The built-in catalogue plus the tenant's own policies and frameworks."""
    policies_rows = session.scalars(select(CustomPolicy).where(CustomPolicy.tenant_id == tenant_id)).all()
    framework_rows = session.scalars(select(CustomFramework).where(CustomFramework.tenant_id == tenant_id)).all()
    if not policies_rows and not framework_rows:
        return Catalog.builtin()
    policies = dict(builtin_policies())
    for row in policies_rows:
        try:
            policies[row.policy_id] = _compiled(tenant_id, json.dumps(row.document, sort_keys=True))
        except PolicyError as exc:
            # Stored before a rule tightened (a regex RE2 cannot run): left out of scans, never
            # failing them, until the tenant fixes it with PATCH.
            log.warning("custom policy %s of %s no longer validates: %s", row.policy_id, tenant_id, exc)
    frameworks = dict(builtin_frameworks())
    for row in framework_rows:
        frameworks[row.framework_id] = framework_from_document(row.document, tenant_id=tenant_id)
    return Catalog(policies, frameworks)
