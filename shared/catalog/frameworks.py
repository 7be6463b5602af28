"""Tenants' own frameworks: controls that name built-in or custom policy ids (groups expanded)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from shared.catalog.models import CustomFramework
from shared.catalog.service import Catalog, catalog_for, check_patch, owned_row, unknown_policies
from shared.frameworks.library import Framework
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.errors import Conflict, InvalidRequest
from shared.platform.schemas import error_details


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
                {"field": f"controls[{index}].policies", "message": unknown_policies(unknown, catalog.policies)}
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
    return owned_row(session, CustomFramework, Catalog.builtin().frameworks, "Framework", tenant_id, framework_id)


def update_framework(svc: Services, tenant_id: str, framework_id: str, changes: dict) -> dict:
    check_patch(changes, framework_id, "framework")
    with svc.db.session() as session:
        row = _custom_framework(session, tenant_id, framework_id)
        data = _validate_framework(catalog_for(session, tenant_id), {**row.document, **changes})
        row.document, row.updated_at = data, utcnow()
    return data


def delete_framework(svc: Services, tenant_id: str, framework_id: str) -> None:
    with svc.db.session() as session:
        session.delete(_custom_framework(session, tenant_id, framework_id))


class FrameworkQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    source = fields.String(validate=validate.OneOf(("builtin", "custom")))


def render_framework(framework: Framework, catalog: Catalog, *, with_controls: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": framework.id,
        "name": framework.name,
        "version": framework.version,
        "source": "custom" if framework.tenant_id else "builtin",
        "controls_total": len(framework.controls),
        "controls_automated": sum(1 for c in framework.controls if c.automated),
        "policies_total": len(framework.policy_ids),
        "checked_against": framework.source,
    }
    if with_controls:
        body["controls"] = []
        for control in framework.controls:
            by_provider: dict[str, list[str]] = {}
            for policy_id in control.policy_ids:
                if policy_id in catalog.policies:
                    by_provider.setdefault(catalog.policies[policy_id].provider, []).append(policy_id)
            described = {
                "section": control.section,
                "requirement": control.requirement,
                "level": control.level,
                "assessment": control.assessment,
                "coverage": control.coverage,
            }
            body["controls"].append(
                {
                    "id": control.id,
                    "title": control.title,
                    "automation": "automated" if control.automated else "manual",
                    "policies": by_provider,
                    "rationales": dict(control.rationales),
                    **{name: value for name, value in described.items() if value is not None},
                }
            )
    return body
