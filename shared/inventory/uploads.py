"""Uploads of pushed inventories: our JSON, `gcloud asset export` NDJSON and Azure Resource Graph
JSON, shaped by the same declarations as live listings and stored as the account's inventory."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import delete, func, select

from shared.accounts.service import get_account
from shared.inventory.collectors.azure import from_rows
from shared.inventory.collectors.base import CollectedResource, jsonable
from shared.inventory.collectors.gcp import from_export
from shared.inventory.collectors.providers import resource_types
from shared.inventory.models import Resource
from shared.inventory.resources import upsert_resources
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import Conflict, InvalidRequest
from shared.platform.schemas import error_details

MAX_RESOURCES = 100_000
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")


def _known_type(value: str) -> None:
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
    problems = [
        {"field": f"data[{index}]", "message": "A Resource Graph row needs id and type"}
        for index, row in enumerate(rows)
        if not isinstance(row, dict) or not {"id", "type"} <= set(row)
    ]
    if problems:
        raise InvalidRequest("The Resource Graph export does not validate", details=problems[:50])
    return from_rows(rows)


def _from_asset_export(lines: list[str]) -> list[CollectedResource]:
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
