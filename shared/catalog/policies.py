"""Tenants' own policies: validated like the built-in ones, stored per tenant, usable wherever a
built-in id is (scan frameworks, scope.include_policies, schedules); and the policy catalogue as
the API lists it."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy.orm import Session

from shared.catalog.models import CustomPolicy
from shared.catalog.service import Catalog, catalog_for, check_patch, owned_row, unknown_frameworks
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.errors import Conflict, InvalidRequest
from shared.platform.schemas import offset_field
from shared.policies.policy import Policy, PolicyError, load_policy
from shared.policies.severities import SEVERITIES


def _policy_error(exc: PolicyError) -> InvalidRequest:
    return InvalidRequest("The policy does not validate", details=[{"field": exc.field, "message": exc.message}])


def create_policy(svc: Services, tenant_id: str, document: dict) -> Policy:
    try:
        policy = load_policy(document, tenant_id=tenant_id)
    except PolicyError as exc:
        raise _policy_error(exc) from None
    with svc.db.session() as session:
        catalog = catalog_for(session, tenant_id)
        if policy.id in catalog.policies or policy.id in catalog.groups:
            raise Conflict(f"Policy {policy.id} already exists")
        session.add(CustomPolicy(tenant_id=tenant_id, policy_id=policy.id, document=document))
    svc.enqueue("schedules-policy-updated", tenant_id, policy.id, utcnow().isoformat())  # subscribers run it
    return policy


def _custom_policy(session: Session, tenant_id: str, policy_id: str) -> CustomPolicy:
    return owned_row(session, CustomPolicy, Catalog.builtin().policies, "Policy", tenant_id, policy_id)


def update_policy(svc: Services, tenant_id: str, policy_id: str, changes: dict) -> Policy:
    """A merge patch: top-level fields given replace the stored ones; the id cannot change."""
    check_patch(changes, policy_id, "policy")
    with svc.db.session() as session:
        row = _custom_policy(session, tenant_id, policy_id)
        document = {**row.document, **changes}
        try:
            policy = load_policy(document, tenant_id=tenant_id)
        except PolicyError as exc:
            raise _policy_error(exc) from None
        row.document, row.updated_at = document, utcnow()
    svc.enqueue("schedules-policy-updated", tenant_id, policy_id, utcnow().isoformat())
    return policy


def delete_policy(svc: Services, tenant_id: str, policy_id: str) -> None:
    with svc.db.session() as session:
        row = _custom_policy(session, tenant_id, policy_id)
        users = [f.id for f in catalog_for(session, tenant_id).frameworks.values() if policy_id in f.policy_ids]
        if users:
            raise Conflict(f"Policy {policy_id} is used by framework(s) {', '.join(users)}", frameworks=users)
        session.delete(row)


class PolicyQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.String(validate=validate.OneOf(("aws", "azure", "gcp")))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    resource_type = fields.String()
    framework = fields.String()
    group = fields.String()
    source = fields.String(validate=validate.OneOf(("builtin", "custom")))
    q = fields.String(metadata={"description": "case-insensitive text in the id or title"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = offset_field()


def filter_policies(catalog: Catalog, query: dict) -> list[Policy]:
    if query.get("framework") and query["framework"] not in catalog.frameworks:
        message = unknown_frameworks([query["framework"]], catalog.frameworks)
        raise InvalidRequest(details=[{"field": "framework", "message": message}])
    selected = []
    for policy in sorted(catalog.policies.values(), key=lambda p: p.id):
        if any(
            query.get(name) and getattr(policy, name) != query[name]
            for name in ("provider", "severity", "resource_type")
        ):
            continue
        if query.get("framework") and policy.id not in catalog.frameworks[query["framework"]].policy_ids:
            continue
        if query.get("group") and query["group"] not in policy.groups:
            continue
        if query.get("source") and ("custom" if policy.tenant_id else "builtin") != query["source"]:
            continue
        if query.get("q") and query["q"].lower() not in f"{policy.id} {policy.title}".lower():
            continue
        selected.append(policy)
    return selected


def render_policy(policy: Policy, catalog: Catalog) -> dict[str, Any]:
    return {
        "id": policy.id,
        "title": policy.title,
        "source": "custom" if policy.tenant_id else "builtin",
        "provider": policy.provider,
        "resource_type": policy.resource_type,
        "severity": policy.severity,
        "description": policy.description,
        "groups": list(policy.groups),
        "fails_when": policy.fails_when,
        "applies_when": policy.applies_when,
        "status_extended": {"pass": policy.status_pass.source, "fail": policy.status_fail.source},
        "remediation": {
            "text": policy.remediation_text,
            "effort": policy.effort,
            "action": policy.remediation_action,
        },
        "absent": policy.absent,
        "frameworks": catalog.mappings(policy.id),
    }
