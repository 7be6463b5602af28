"""Tenants' own policies and frameworks: validated like the built-in ones, stored per tenant,
usable wherever a built-in id is (scan frameworks, scope.include_policies, schedules)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from shared.catalog import Catalog, catalog_for
from shared.context import Services
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.frameworks import Framework
from shared.models import CustomFramework, CustomPolicy, utcnow
from shared.policies import SEVERITIES, Policy, PolicyError, load_policy
from shared.scans.schemas import error_details
from shared.triggers import policy_updated


class ReadOnly(Conflict):
    description = "Built-in policies and frameworks cannot be changed"


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
    policy_updated(svc, tenant_id, policy.id)
    return policy


def _owned(session: Session, model, builtin: dict, kind: str, tenant_id: str, entry_id: str):
    """The tenant's own policy or framework row, locked; a built-in id is read-only, others 404."""
    row = session.get(model, (tenant_id, entry_id), with_for_update=True)
    if row is None:
        if entry_id in builtin:
            raise ReadOnly(f"{kind} {entry_id} is built in and read-only")
        raise NotFound(f"{kind} {entry_id} does not exist")
    return row


def _custom_policy(session: Session, tenant_id: str, policy_id: str) -> CustomPolicy:
    return _owned(session, CustomPolicy, Catalog.builtin().policies, "Policy", tenant_id, policy_id)


def _same_id(changes: dict, entry_id: str, kind: str) -> None:
    if "id" in changes and changes["id"] != entry_id:
        raise InvalidRequest(details=[{"field": "id", "message": f"A {kind}'s id cannot change"}])


def update_policy(svc: Services, tenant_id: str, policy_id: str, changes: dict) -> Policy:
    """A merge patch: top-level fields given replace the stored ones; the id cannot change."""
    _same_id(changes, policy_id, "policy")
    with svc.db.session() as session:
        row = _custom_policy(session, tenant_id, policy_id)
        document = {**row.document, **changes}
        try:
            policy = load_policy(document, tenant_id=tenant_id)
        except PolicyError as exc:
            raise _policy_error(exc) from None
        row.document, row.updated_at = document, utcnow()
    policy_updated(svc, tenant_id, policy_id)
    return policy


def delete_policy(svc: Services, tenant_id: str, policy_id: str) -> None:
    with svc.db.session() as session:
        row = _custom_policy(session, tenant_id, policy_id)
        users = [f.id for f in catalog_for(session, tenant_id).frameworks.values() if policy_id in f.policy_ids]
        if users:
            raise Conflict(f"Policy {policy_id} is used by framework(s) {', '.join(users)}", frameworks=users)
        session.delete(row)


class ControlSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    policies = fields.List(fields.String(), load_default=list)


class FrameworkSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_-]{1,63}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.String(load_default="")
    controls = fields.List(fields.Nested(ControlSchema), required=True, validate=validate.Length(min=1))


def _validate_framework(catalog: Catalog, document: dict) -> dict:
    try:
        data = FrameworkSchema().load(document)
    except ValidationError as exc:
        raise InvalidRequest("The framework does not validate", details=error_details(exc.messages)) from None
    details = []
    seen = set()
    for index, control in enumerate(data["controls"]):
        if control["id"] in seen:
            details.append({"field": f"controls[{index}].id", "message": f"Duplicate control {control['id']}"})
        seen.add(control["id"])
        _, unknown = catalog.expand(control["policies"])
        if unknown:
            details.append(
                {"field": f"controls[{index}].policies", "message": f"Unknown policy id(s): {', '.join(unknown)}"}
            )
    if details:
        raise InvalidRequest("The framework does not validate", details=details)
    # Group names are expanded, so a framework always lists concrete policy ids.
    for control in data["controls"]:
        control["policies"] = sorted(catalog.expand(control["policies"])[0])
    return data


def create_framework(svc: Services, tenant_id: str, document: dict) -> dict:
    with svc.db.session() as session:
        catalog = catalog_for(session, tenant_id)
        data = _validate_framework(catalog, document)
        if data["id"] in catalog.frameworks:
            raise Conflict(f"Framework {data['id']} already exists")
        session.add(CustomFramework(tenant_id=tenant_id, framework_id=data["id"], document=data))
    return data


def _custom_framework(session: Session, tenant_id: str, framework_id: str) -> CustomFramework:
    return _owned(session, CustomFramework, Catalog.builtin().frameworks, "Framework", tenant_id, framework_id)


def update_framework(svc: Services, tenant_id: str, framework_id: str, changes: dict) -> dict:
    _same_id(changes, framework_id, "framework")
    with svc.db.session() as session:
        row = _custom_framework(session, tenant_id, framework_id)
        data = _validate_framework(catalog_for(session, tenant_id), {**row.document, **changes})
        row.document, row.updated_at = data, utcnow()
    return data


def delete_framework(svc: Services, tenant_id: str, framework_id: str) -> None:
    with svc.db.session() as session:
        session.delete(_custom_framework(session, tenant_id, framework_id))


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
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class FrameworkQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    source = fields.String(validate=validate.OneOf(("builtin", "custom")))


def filter_policies(catalog: Catalog, query: dict) -> list[Policy]:
    if query.get("framework") and query["framework"] not in catalog.frameworks:
        raise InvalidRequest(details=[{"field": "framework", "message": f"Unknown framework {query['framework']}"}])
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
        "status_extended": {"pass": policy.status_pass, "fail": policy.status_fail},
        "remediation": {
            "text": policy.remediation_text,
            "effort": policy.effort,
            "action": policy.remediation_action,
        },
        "frameworks": catalog.mappings(policy.id),
    }


def render_framework(framework: Framework, catalog: Catalog, *, with_controls: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": framework.id,
        "name": framework.name,
        "version": framework.version,
        "source": "custom" if framework.tenant_id else "builtin",
        "controls_total": len(framework.controls),
        "controls_automated": sum(1 for c in framework.controls if c.automated),
        "policies_total": len(framework.policy_ids),
    }
    if with_controls:
        body["controls"] = []
        for control in framework.controls:
            by_provider: dict[str, list[str]] = {}
            for policy_id in control.policy_ids:
                if policy_id in catalog.policies:
                    by_provider.setdefault(catalog.policies[policy_id].provider, []).append(policy_id)
            body["controls"].append(
                {
                    "id": control.id,
                    "title": control.title,
                    "automation": "automated" if control.automated else "manual",
                    "policies": by_provider,
                }
            )
    return body
