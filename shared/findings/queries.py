"""Reading findings: the tenant's latest state (filtered, keyset-paginated by a sealed cursor),
and one finding with its status history, the scans that saw it and the change that introduced it."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import Row, literal_column, or_, select
from sqlalchemy.orm import Session

from shared.accounts.models import PROVIDERS
from shared.catalog.service import Catalog, unknown_frameworks
from shared.findings.models import FINDING_STATUSES, RESOURCE_TEXT, Finding, FindingEvent
from shared.inventory.models import Resource, ResourceVersion
from shared.platform import cursors
from shared.platform.crypto import CredentialVault
from shared.platform.durations import iso
from shared.platform.errors import InvalidRequest, NotFound
from shared.platform.patterns import glob_to_like
from shared.platform.schemas import Closed
from shared.policies.severities import SEVERITIES


class FindingQuerySchema(Closed):
    status = fields.String(validate=validate.OneOf(FINDING_STATUSES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    provider = fields.String(validate=validate.OneOf(PROVIDERS))
    account_id = fields.String(validate=validate.Length(max=32))
    region = fields.String(validate=validate.Length(max=64))
    policy = fields.String(validate=validate.Length(max=100))
    framework = fields.String(validate=validate.Length(max=64))
    control = fields.String(validate=validate.Length(max=64), metadata={"description": "with framework"})
    resource = fields.String(
        validate=validate.Length(max=512), metadata={"description": "glob over the resource uid or name"}
    )
    first_seen_after = fields.AwareDateTime(default_timezone=None)
    first_seen_before = fields.AwareDateTime(default_timezone=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(
        validate=validate.Length(max=2048), metadata={"description": "next_cursor of the previous page"}
    )

    @validates_schema
    def _control_needs_framework(self, data: dict, **kwargs) -> None:
        if data.get("control") and not data.get("framework"):
            raise ValidationError("control is a control of the framework given in framework", "control")


def encode_cursor(vault: CredentialVault, tenant_id: str, after: int) -> str:
    return cursors.seal(vault, {"findings": tenant_id}, after)


def decode_cursor(vault: CredentialVault, tenant_id: str, value: str | None) -> int:
    return cursors.unseal(vault, {"findings": tenant_id}, value, "Not a cursor of this tenant's findings")


def _policies(catalog: Catalog, query: dict) -> list[str] | None:
    """The policies a framework (or one of its controls) rests on; None when neither is asked."""
    if not query.get("framework"):
        return None
    framework = catalog.frameworks.get(query["framework"])
    if framework is None:
        message = unknown_frameworks([query["framework"]], catalog.frameworks)
        raise InvalidRequest(details=[{"field": "framework", "message": message}])
    if not query.get("control"):
        return sorted(framework.policy_ids)
    control = next((c for c in framework.controls if c.id == query["control"]), None)
    if control is None:
        raise InvalidRequest(
            details=[{"field": "control", "message": f"No control {query['control']} in {framework.id}"}]
        )
    return sorted(control.policy_ids)


def list_findings(
    session: Session, tenant_id: str, catalog: Catalog, query: dict, after: int
) -> tuple[list[Row], bool]:
    """One page (ordered by id, after the cursor) and whether more follow. No total: counting a
    million findings on every page would cost more than the page."""
    conditions = [Finding.tenant_id == tenant_id]
    for name, column in (
        ("status", Finding.status),
        ("severity", Finding.severity),
        ("provider", Finding.provider),
        ("account_id", Finding.account_id),
        ("region", Finding.region),
        ("policy", Finding.policy_id),
    ):
        if query.get(name):
            conditions.append(column == query[name])
    policies = _policies(catalog, query)
    if policies is not None:
        conditions.append(Finding.policy_id.in_(policies))
    if query.get("first_seen_after"):
        conditions.append(Finding.first_seen_at >= query["first_seen_after"])
    if query.get("first_seen_before"):
        conditions.append(Finding.first_seen_at < query["first_seen_before"])
    page = query["limit"] + 1
    if after:
        conditions.append(Finding.id > after)
    if query.get("resource") and query["resource"].strip("*"):
        rows = _glob_page(session, conditions, query["resource"], page)
    else:
        rows = session.execute(select(Finding.__table__).where(*conditions).order_by(Finding.id).limit(page)).all()
    return list(rows[: query["limit"]]), len(rows) > query["limit"]


GLOB_WINDOW = 2_000  # findings a resource glob is first tried on, in id order


def _glob_page(session: Session, conditions: list, glob: str, page: int) -> list[Row]:
    """One page of findings whose resource uid or name matches a glob. A glob that matches many is
    answered from the next GLOB_WINDOW findings in id order; one that fills no page there is
    narrowed by the trigram index over the uid and name together (its text, unanchored, holds any
    match of either), each candidate then checked, and the matches ordered (walking the primary key
    instead reads the whole tenant when matches are rare or all near the end)."""
    like = glob_to_like(glob)

    def matching(columns):
        return or_(columns.resource_uid.like(like, escape="\\"), columns.resource_name.like(like, escape="\\"))

    window = select(Finding.__table__).where(*conditions).order_by(Finding.id).limit(GLOB_WINDOW).subquery()
    rows = session.execute(select(window).where(matching(window.c)).order_by(window.c.id).limit(page)).all()
    if len(rows) == page:
        return rows
    anywhere = "%" + glob_to_like(glob.strip("*")) + "%"
    matched = (
        select(Finding.id)
        .where(*conditions, literal_column(RESOURCE_TEXT).like(anywhere, escape="\\"), matching(Finding.__table__.c))
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    first = select(matched.c.id).order_by(matched.c.id).limit(page)  # then only these rows are read
    return session.execute(select(Finding.__table__).where(Finding.id.in_(first)).order_by(Finding.id)).all()


def render(row: Finding | Row, catalog: Catalog) -> dict[str, Any]:
    policy = catalog.policies.get(row.policy_id)
    return {
        "id": row.public_id,
        "status": row.status,
        "policy_id": row.policy_id,
        "title": policy.title if policy else row.policy_id,
        "severity": row.severity,
        "status_extended": row.status_extended,
        "resource": {
            "uid": row.resource_uid,
            "name": row.resource_name,
            "type": row.resource_type,
            "provider": row.provider,
            "account_id": row.account_id,
            "region": row.region,
        },
        "first_seen_at": iso(row.first_seen_at),
        "last_seen_at": iso(row.last_seen_at),
        "status_changed_at": iso(row.status_changed_at),
        "resolved_at": iso(row.resolved_at),
        "first_scan_id": row.first_scan_id,
        "last_scan_id": row.last_scan_id,
        "muted": {"rule_id": row.muted_by} if row.muted_by else None,
        "frameworks": catalog.mappings(row.policy_id),
    }


def get_finding(session: Session, tenant_id: str, public_id: str) -> Finding:
    row = session.scalar(select(Finding).where(Finding.public_id == public_id, Finding.tenant_id == tenant_id))
    if row is None:
        raise NotFound(f"Finding {public_id} does not exist")
    return row


def _introduced_by(session: Session, finding: Finding) -> dict[str, Any] | None:
    """The configuration version whose change (re)opened the finding, and its resource's id."""
    if finding.introduced_by_version_id is None:
        return None
    version = session.get(ResourceVersion, finding.introduced_by_version_id)
    if version is None:
        return None
    resource = session.get(Resource, version.resource_id)
    return {
        "resource_id": resource.public_id if resource else None,
        "version": version.version,
        "scan_id": version.scan_id,
        "recorded_at": iso(version.recorded_at),
        "history": f"/v1/resources/{resource.public_id}/history" if resource else None,
    }


def render_details(session: Session, finding: Finding, catalog: Catalog, scans: list[dict]) -> dict[str, Any]:
    """The finding with its status history (oldest first), the latest `scans` that saw it
    (shared.scans.results.finding_scans), and the configuration change that introduced it."""
    events = session.scalars(
        select(FindingEvent).where(FindingEvent.finding_id == finding.id).order_by(FindingEvent.id)
    )
    return {
        **render(finding, catalog),
        "history": [
            {
                "status": event.status,
                "reason": event.reason,
                "at": iso(event.at),
                "scan_id": event.scan_id,
                "mute_rule_id": event.mute_rule_id,
            }
            for event in events
        ],
        "scans": scans,
        "introduced_by": _introduced_by(session, finding),
    }
