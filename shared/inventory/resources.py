"""The resources every scan and upload saw: one row per resource per account, upserted in bulk
with a version recorded whenever a configuration changes, browsed by callers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import case, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from shared.inventory.collectors.base import CollectedResource
from shared.inventory.models import Resource, ResourceVersion
from shared.platform.bulk import Stage
from shared.platform.durations import iso
from shared.platform.errors import NotFound
from shared.platform.patterns import glob_to_like
from shared.platform.schemas import offset_field

RESOURCE_STAGE = Stage(
    "resource_stage",
    (
        ("provider", "text"),
        ("region", "text"),
        ("resource_type", "text"),
        ("resource_uid", "text"),
        ("name", "text"),
        ("config", "jsonb"),
        ("config_hash", "text"),
    ),
)


def upsert_resources(
    session,
    tenant_id: str,
    account_id: str,
    resources: list[CollectedResource],
    now: datetime,
    scan_id: str | None = None,
) -> None:
    """Upsert resources (unique uids) into the account's inventory: COPY into a staging table,
    then one statement. What a scan or an upload sees refreshes `last_seen`; when the hash moves (or
    the resource is new), `config_changed_at` moves, `config_version` grows and the configuration is
    recorded in resource_versions with the scan that saw it."""
    if not resources:
        return
    RESOURCE_STAGE.load(
        session,
        ((r.provider, r.region, r.resource_type, r.uid, r.name, r.document, r.config_hash) for r in resources),
    )
    staged = RESOURCE_STAGE.table.c
    constants = {
        "tenant_id": literal(tenant_id),
        "account_id": literal(account_id),
        "first_seen": literal(now),
        "last_seen": literal(now),
        "config_changed_at": literal(now),
        "config_version": literal(1),
    }
    if scan_id:
        constants["last_scan_id"] = literal(scan_id)
    varying = {name: staged[name] for name, _ in RESOURCE_STAGE.columns}
    columns = {**constants, **varying}
    stmt = insert(Resource).from_select(list(columns), select(*columns.values()))
    excluded, table = stmt.excluded, Resource.__table__.c
    changes = {
        name: getattr(excluded, name)
        for name in ("name", "region", "resource_type", "config", "config_hash", "last_seen")
    }
    moved = table.config_hash.is_distinct_from(excluded.config_hash)
    changes["config_changed_at"] = case((moved, excluded.last_seen), else_=table.config_changed_at)
    changes["config_version"] = case((moved, table.config_version + 1), else_=table.config_version)
    if scan_id:
        changes["last_scan_id"] = excluded.last_scan_id
    upserted = (
        stmt.on_conflict_do_update(constraint="uq_resources_account_uid", set_=changes)
        .returning(
            table.id,
            table.tenant_id,
            table.config_version,
            table.config_hash,
            table.config,
            # RETURNING sees only the new row: a new row, or a moved hash, set config_changed_at to now.
            (table.config_changed_at == table.last_seen).label("changed"),
        )
        .cte("upserted")
    )
    recorded = select(
        upserted.c.id,
        upserted.c.tenant_id,
        upserted.c.config_version,
        upserted.c.config_hash,
        upserted.c.config,
        literal(scan_id, ResourceVersion.__table__.c.scan_id.type),
        literal(now),
    ).where(upserted.c.changed)
    versions = (
        insert(ResourceVersion)
        .from_select(
            ["resource_id", "tenant_id", "version", "config_hash", "config", "scan_id", "recorded_at"], recorded
        )
        # `changed` is also true for a resource upserted twice with the same `now` (an upload
        # that names it in two batches) and an unchanged hash: its version is recorded already.
        .on_conflict_do_nothing(constraint="uq_resource_versions_version")
        .add_cte(upserted)
    )
    session.execute(versions)


class ResourceQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.String(validate=validate.OneOf(("aws", "azure", "gcp")))
    account_id = fields.String()
    region = fields.String()
    type = fields.String()
    id = fields.String(metadata={"description": "glob over the resource's uid (ARN, Azure id, GCP name)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = offset_field()


def list_resources(session, tenant_id: str, query: dict) -> tuple[list[Resource], int]:
    conditions = [Resource.tenant_id == tenant_id]
    for name, column in (
        ("provider", Resource.provider),
        ("account_id", Resource.account_id),
        ("region", Resource.region),
        ("type", Resource.resource_type),
    ):
        if query.get(name):
            conditions.append(column == query[name])
    if query.get("id"):
        conditions.append(Resource.resource_uid.like(glob_to_like(query["id"]), escape="\\"))
    total = session.scalar(select(func.count()).select_from(Resource).where(*conditions))
    rows = session.scalars(
        select(Resource).where(*conditions).order_by(Resource.id).limit(query["limit"]).offset(query["offset"])
    ).all()
    return list(rows), total


def get_resource(session, tenant_id: str, resource_id: str) -> Resource:
    row = session.scalar(select(Resource).where(Resource.public_id == resource_id, Resource.tenant_id == tenant_id))
    if row is None:
        raise NotFound(f"Resource {resource_id} does not exist")
    return row


def render(row: Resource) -> dict[str, Any]:
    return {
        "id": row.public_id,
        "uid": row.resource_uid,
        "name": row.name,
        "type": row.resource_type,
        "provider": row.provider,
        "account_id": row.account_id,
        "region": row.region,
        "config_hash": row.config_hash,
        "first_seen": iso(row.first_seen),
        "last_seen": iso(row.last_seen),
        "last_scan_id": row.last_scan_id,
    }


def render_details(row: Resource, violations: list[dict[str, Any]]) -> dict[str, Any]:
    """The resource with its configuration and its violations in the last scan that saw it."""
    return {**render(row), "configuration": row.config, "violations": violations}
