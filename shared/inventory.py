"""The resource inventory: uploads of pushed resources (our JSON, `gcloud asset export` NDJSON,
Azure Resource Graph JSON), and the inventory as callers browse it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import case, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from shared.accounts import get_account
from shared.bulk import Stage
from shared.collectors import CollectedResource, jsonable, load_providers, resource_types
from shared.context import Services
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.models import Resource, Violation, utcnow
from shared.policies import builtin_policies
from shared.scans.render import iso
from shared.scans.schemas import error_details
from shared.scans.scope import glob_to_like

MAX_RESOURCES = 100_000
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")


def _known_type(value: str) -> None:
    load_providers()
    if value not in resource_types:
        raise ValidationError(f"Unknown resource type '{value}'")


class PushedResourceSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=_known_type)
    id = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    uid = fields.String(load_default=None, validate=validate.Length(min=1, max=2048))
    name = fields.String(load_default=None)
    region = fields.String(load_default="global", validate=validate.Length(min=1, max=64))
    document = fields.Dict(required=True)


class PushSchema(Schema):
    class Meta:
        unknown = RAISE

    resources = fields.List(
        fields.Nested(PushedResourceSchema), required=True, validate=validate.Length(max=MAX_RESOURCES)
    )
    mode = fields.String(load_default="replace", validate=validate.OneOf(("replace", "merge")))


def _from_ours(data: dict) -> tuple[list[CollectedResource], str]:
    try:
        loaded = PushSchema().load(data)
    except ValidationError as exc:
        raise InvalidRequest("The inventory does not validate", details=error_details(exc.messages)) from None
    resources = [
        CollectedResource(
            uid=item["uid"] or item["id"],
            id=item["id"],
            name=item["name"] or item["id"],
            resource_type=item["type"],
            region=item["region"],
            document=jsonable(item["document"]),
        )
        for item in loaded["resources"]
    ]
    return resources, loaded["mode"]


def _from_resource_graph(rows: list) -> list[CollectedResource]:
    from shared.collectors.azure import from_rows

    problems = [
        {"field": f"data[{index}]", "message": "A Resource Graph row needs id and type"}
        for index, row in enumerate(rows)
        if not isinstance(row, dict) or not {"id", "type"} <= set(row)
    ]
    if problems:
        raise InvalidRequest("The Resource Graph export does not validate", details=problems[:50])
    return from_rows(rows)


def _from_asset_export(lines: list[str]) -> list[CollectedResource]:
    from shared.collectors.gcp import from_export

    assets, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            asset = json.loads(line)
        except ValueError:
            problems.append({"field": f"line {number}", "message": "Not a JSON object"})
            continue
        if not isinstance(asset, dict) or "name" not in asset or "assetType" not in asset:
            problems.append({"field": f"line {number}", "message": "An asset needs name and assetType"})
            continue
        assets.append(asset)
    if problems:
        raise InvalidRequest("The asset export does not validate", details=problems[:50])
    return from_export(assets)


def parse_upload(content_type: str, body: bytes) -> tuple[list[CollectedResource], str]:
    """Resources and the push mode from an upload in any supported format."""
    kind = (content_type or "").split(";")[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if kind in NDJSON_TYPES:
        return _from_asset_export(text.splitlines()), "replace"
    if kind != "application/json":
        raise InvalidRequest(f"Unsupported inventory format '{kind}'; send application/json or application/x-ndjson")
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidRequest(
            "The request body is not valid JSON", details=[{"field": "body", "message": "Malformed JSON"}]
        ) from None
    if isinstance(data, dict) and "resources" in data:
        return _from_ours(data)
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return _from_resource_graph(data["data"]), "replace"
    if isinstance(data, list):
        return _from_resource_graph(data), "replace"
    raise InvalidRequest(
        'Expected {"resources": [...]}, a Resource Graph export or a list of its rows',
        details=[{"field": "body", "message": "Unrecognised inventory format"}],
    )


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
    then one INSERT ... ON CONFLICT. What a scan or an upload sees refreshes `last_seen`, and
    `config_changed_at` moves only when the hash does."""
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
    changes["config_changed_at"] = case(
        (table.config_hash != excluded.config_hash, excluded.last_seen), else_=table.config_changed_at
    )
    if scan_id:
        changes["last_scan_id"] = excluded.last_scan_id
    session.execute(stmt.on_conflict_do_update(constraint="uq_resources_account_uid", set_=changes))


def push_upload(
    svc: Services, tenant_id: str, account_id: str, content_type: str, body: bytes, mode: str | None = None
) -> dict[str, Any]:
    """Check the account, parse the upload in whichever format it is, and store it."""
    with svc.db.session() as session:
        get_account(session, tenant_id, account_id)  # another tenant's account is 404 before anything else
    resources, parsed_mode = parse_upload(content_type, body)
    if mode not in (None, "replace", "merge"):
        raise InvalidRequest(details=[{"field": "mode", "message": "Must be one of: replace, merge."}])
    return push_inventory(svc, tenant_id, account_id, resources, mode or parsed_mode)


def push_inventory(
    svc: Services, tenant_id: str, account_id: str, resources: list[CollectedResource], mode: str
) -> dict[str, Any]:
    """Store an upload as the account's inventory; `replace` drops what the upload no longer has."""
    if len(resources) > MAX_RESOURCES:
        raise InvalidRequest(f"At most {MAX_RESOURCES} resources per upload")
    now = utcnow()
    unique = {r.uid: r for r in resources}
    with svc.db.session() as session:
        account = get_account(session, tenant_id, account_id)
        if account.collection != "inventory":
            raise Conflict(
                "This account is listed through its provider's API; create it with "
                '"collection": "inventory" to evaluate uploaded snapshots'
            )
        before = session.scalar(select(func.count()).where(Resource.account_id == account.id))
        items = list(unique.values())
        upsert_resources(session, tenant_id, account.id, items, now)
        removed = 0
        if mode == "replace":
            removed = session.execute(
                delete(Resource).where(Resource.account_id == account.id, Resource.last_seen < now)
            ).rowcount
        account.inventory_pushed_at = now
        after = session.scalar(select(func.count()).where(Resource.account_id == account.id))
    by_type: dict[str, int] = {}
    for resource in items:
        by_type[resource.resource_type] = by_type.get(resource.resource_type, 0) + 1
    return {
        "account_id": account_id,
        "mode": mode,
        "received": len(resources),
        "stored": len(items),
        "created": after - before + removed,
        "removed": removed,
        "resource_types": dict(sorted(by_type.items())),
        "pushed_at": iso(now),
    }


class ResourceQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.String(validate=validate.OneOf(("aws", "azure", "gcp")))
    account_id = fields.String()
    region = fields.String()
    type = fields.String()
    id = fields.String(metadata={"description": "glob over the resource's uid (ARN, Azure id, GCP name)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


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


def parse_resource_id(value: str) -> int:
    prefix, _, number = value.partition("_")
    if prefix != "res" or not number.isdigit():
        raise NotFound(f"Resource {value} does not exist")
    return int(number)


def get_resource(session, tenant_id: str, resource_id: str) -> tuple[Resource, list[Violation]]:
    row = session.scalar(
        select(Resource).where(Resource.id == parse_resource_id(resource_id), Resource.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound(f"Resource {resource_id} does not exist")
    violations = []
    if row.last_scan_id:
        violations = list(
            session.scalars(
                select(Violation)
                .where(
                    Violation.scan_id == row.last_scan_id,
                    Violation.account_id == row.account_id,
                    Violation.resource_uid == row.resource_uid,
                )
                .order_by(Violation.policy_id)
            )
        )
    return row, violations


def render(row: Resource) -> dict[str, Any]:
    return {
        "id": f"res_{row.id}",
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


def render_details(row: Resource, violations: list[Violation]) -> dict[str, Any]:
    policies = builtin_policies()
    return {
        **render(row),
        "configuration": row.config,
        "violations": [
            {
                "policy_id": v.policy_id,
                "title": policies[v.policy_id].title if v.policy_id in policies else v.policy_id,
                "severity": v.severity,
                "status_extended": v.status_extended,
                "is_new": v.is_new,
                "scan_id": v.scan_id,
            }
            for v in violations
        ],
    }
