"""Uploads of pushed inventories: our JSON, `gcloud asset export` NDJSON, `gcloud asset list` JSON
and Azure Resource Graph JSON (told apart by their content), read from the request as a stream,
shaped by the same declarations as live listings and stored a batch at a time in one transaction,
so an upload is bounded by its byte limit, not by memory."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import delete, func, select

from shared.accounts.service import get_account
from shared.inventory.collectors.azure.engine import from_rows
from shared.inventory.collectors.base import GLOBAL_REGION, CollectedResource
from shared.inventory.collectors.gcp.declare import PROJECT_ASSET_TYPE
from shared.inventory.collectors.gcp.engine import from_export
from shared.inventory.collectors.gcp.shaping import is_asset, json_names
from shared.inventory.collectors.providers import resource_types
from shared.inventory.models import Resource
from shared.inventory.resources import upsert_resources
from shared.inventory.tags import with_tags
from shared.platform import jsonin
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import Conflict, InvalidRequest
from shared.platform.jsonstream import Body, JsonText, array_items
from shared.platform.schemas import error_details

BATCH_SIZE = 5_000  # resources per COPY: a few MiB of rows, few enough round trips not to matter
MAX_PROBLEMS = 50  # details of a refused upload
MAX_REGION = 64  # the resources table's region column
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")
# Content types that leave the format open: an asset export's first line is an object with an assetType.
SNIFFED_TYPES = ("application/json", "", "application/octet-stream", "text/plain")
NOT_BOTH = 'Send our JSON ("resources") or a Resource Graph export ("data"), not both'
STREAMED = object()  # stands for an array of the body that was read item by item


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
    region = fields.String(load_default=GLOBAL_REGION, validate=validate.Length(min=1, max=MAX_REGION))
    document = fields.Dict(required=True)


PUSHED_FIELDS = frozenset(("type", "id", "uid", "name", "region", "document"))  # PushedResourceSchema's


class PushQuerySchema(Schema):
    """The query of an upload: how it treats what the account held before (our JSON may say it too)."""

    class Meta:
        unknown = RAISE

    mode = fields.String(
        validate=validate.OneOf(("replace", "merge")),
        metadata={"description": "replace (default): drop resources the upload no longer has; merge: keep them"},
    )


class PushSchema(Schema):
    """Our JSON. Its `resources` are read one by one as they arrive (at most
    POLICYCORTEX_MAX_UPLOAD_RESOURCES); the schema checks the other members and documents the body."""

    class Meta:
        unknown = RAISE

    resources = fields.List(fields.Nested(PushedResourceSchema), required=True)
    mode = fields.String(load_default="replace", validate=validate.OneOf(("replace", "merge")))


# What stops a record from being shaped: (field within the record, such as ".resource.data"; message).
Problem = tuple[str, str]


def _plainly_valid(item: Any) -> bool:
    """The common case of PushedResourceSchema, checked in a tenth of its time: only its fields, each of
    the type and length it accepts. Whatever this does not accept goes to the schema, for its messages."""
    if type(item) is not dict or not item.keys() <= PUSHED_FIELDS:
        return False
    kind, ident, uid, name = item.get("type"), item.get("id"), item.get("uid"), item.get("name")
    region = item.get("region", GLOBAL_REGION)
    return (
        type(kind) is str
        and kind in resource_types
        and type(ident) is str
        and 0 < len(ident) <= 2048
        and (uid is None or (type(uid) is str and 0 < len(uid) <= 2048))
        and (name is None or type(name) is str)
        and type(region) is str
        and 0 < len(region) <= MAX_REGION
        and type(item.get("document")) is dict
    )


def _row_problem(row: Any) -> Problem | None:
    """Why a Resource Graph row cannot be shaped (azure.from_rows), or None."""
    if not isinstance(row, dict) or not {"id", "type"} <= row.keys():
        return "", "A Resource Graph row needs id and type"
    if not isinstance(row["id"], str) or not row["id"]:
        return ".id", "Not a valid string."
    return _strings(row, ("type", "name", "location"), "")


def _asset_problem(asset: Any) -> Problem | None:
    """Why a line of an asset export cannot be shaped (gcp.from_export), or None."""
    if not isinstance(asset, dict):
        return "", "Not a JSON object"
    if "name" not in asset or "assetType" not in asset:
        return "", "An asset needs name and assetType"
    if not isinstance(asset["name"], str) or not asset["name"]:
        return ".name", "Not a valid string."
    resource = asset.get("resource", {})
    for field, value in (
        (".resource", resource),
        (".iamPolicy", asset.get("iamPolicy", {})),
        (".resource.data", isinstance(resource, dict) and (resource.get("data") or {})),
    ):
        if not isinstance(value, dict):
            return field, "Not a JSON object"
    return _strings(asset, ("assetType",), "") or _strings(resource, ("parent", "location"), ".resource")


def _strings(values: dict, keys: tuple[str, ...], where: str) -> Problem | None:
    """Text fields (null or missing allowed); a `location` becomes the region column."""
    for key in keys:
        value = values.get(key)
        if value is not None and not isinstance(value, str):
            return f"{where}.{key}", "Not a valid string."
        if key == "location" and len(value or "") > MAX_REGION:
            return f"{where}.{key}", f"Longer than {MAX_REGION} characters."
    return None


def _json_arrays(text: JsonText, members: dict[str, Any]) -> Iterator[tuple[str, int, Any]]:
    """The items of the upload's array as (key, index, item): `resources` or `data` of a top-level
    object, or a top-level array of rows (as `data`). The object's members go to `members`, an
    array read item by item as STREAMED."""
    if text.take("["):
        yield from array_items(text, "data")
        members["data"] = STREAMED
    elif text.take("{"):
        closed = text.take("}")
        while not closed:
            key = text.value("body")
            if not isinstance(key, str) or not text.take(":"):
                raise jsonin.JsonInputError("body", "Malformed JSON: expecting a member name and ':'")
            if key in ("resources", "data") and text.take("["):
                yield from array_items(text, key)
                members[key] = STREAMED
            else:
                members[key] = text.value(key)
            closed = text.take("}")
            if not closed and not text.take(","):
                raise jsonin.JsonInputError(key, "Malformed JSON: expecting ',' or '}' after it")
    else:
        text.value("body")  # a string or a number: JSON, but no inventory
    if text.peek():
        raise jsonin.JsonInputError("body", "Malformed JSON: extra data after the document")


class _Upload:
    """One upload stored in the caller's transaction a batch of unique uids at a time (ON CONFLICT may not
    touch a row twice in one statement; across batches the last one wins). After a first problem nothing
    more is stored (the transaction will roll back), but reading goes on to name up to MAX_PROBLEMS."""

    def __init__(self, session, tenant_id: str, account_id: str, now: datetime, limit: int):
        self.session, self.tenant_id, self.account_id, self.now, self.limit = session, tenant_id, account_id, now, limit
        self.description = "The inventory does not validate"
        self.records = 0  # items, rows or lines read
        self.received = 0  # resources shaped from them
        self.batch: dict[str, CollectedResource] = {}
        self.problems: list[dict[str, str]] = []

    def record(self, field: str) -> None:
        self.records += 1
        if self.records > self.limit:
            message = f"At most {self.limit} resources per upload"
            raise InvalidRequest(message, details=[*self.problems, {"field": field, "message": message}])

    def refuse(self, field: str, message: str) -> None:
        self.problems.append({"field": field, "message": message})
        self.batch.clear()
        if len(self.problems) >= MAX_PROBLEMS:
            raise InvalidRequest(self.description, details=self.problems)

    def accepts(self, field: str, record: Any, problem: Problem | None = None) -> bool:
        """Whether a record is to be stored: it has the shape its format needs (else `problem` says
        what is wrong), PostgreSQL can store all of it (shared.platform.jsonin), and no record before
        it was refused. A refused one is recorded."""
        if problem:
            self.refuse(field + problem[0], problem[1])
            return False
        try:
            jsonin.check(record, field)
        except jsonin.JsonInputError as exc:
            self.refuse(exc.field, exc.message)
            return False
        return not self.problems

    def store(self, resources: Iterable[CollectedResource]) -> None:
        if self.problems:
            return
        for resource in resources:
            self.received += 1
            self.batch[resource.uid] = resource
        if len(self.batch) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            upsert_resources(self.session, self.tenant_id, self.account_id, list(self.batch.values()), self.now)
        self.batch = {}

    def finish(self) -> None:
        """Store the last batch, or refuse the upload with its problems."""
        if self.problems:
            raise InvalidRequest(self.description, details=self.problems)
        self.flush()


def _pushed(upload: _Upload, item: Any, field: str) -> None:
    """One resource of our JSON, validated and stored."""
    if not _plainly_valid(item):
        try:
            item = PushedResourceSchema().load(item)
        except ValidationError as exc:
            for detail in error_details(exc.messages, field):
                upload.refuse(detail["field"], detail["message"])
            return
    if upload.accepts(field, item):
        ident, kind, region = item["id"], item["type"], item.get("region", GLOBAL_REGION)
        uid, name = item.get("uid") or ident, item.get("name") or ident
        spec = resource_types.get(kind)
        # Tags are derived again, within the provider's limits, whatever `tags` the upload claims.
        document = with_tags(spec.provider, spec.pushed(item["document"]))
        upload.store([CollectedResource(uid, ident, name, kind, region, document)])


def _read_json(body: Body, upload: _Upload) -> str | None:
    """Our JSON, a Resource Graph export or a `gcloud asset list --format=json` array, item by item;
    the mode our JSON asks for. Rows and assets are told apart by their first item's content."""
    members: dict[str, Any] = {}
    rows: list[dict] = []
    assets: _AssetShaper | None = None
    for key, index, item in _json_arrays(JsonText(body), members):
        field = f"{key}[{index}]"
        if members.get("resources" if key == "data" else "data") is STREAMED:
            raise InvalidRequest(NOT_BOTH, details=[*upload.problems, {"field": field, "message": NOT_BOTH}])
        upload.record(key)
        if key == "resources":
            _pushed(upload, item, field)
            continue
        if index == 0 and is_asset(item):
            upload.description = "The asset list does not validate"
            assets = _AssetShaper(upload)
        if assets is not None:
            item = json_names(item)
            if upload.accepts(field, item, _asset_problem(item)):
                assets.add(item)
            continue
        upload.description = "The Resource Graph export does not validate"
        if upload.accepts(field, item, _row_problem(item)):
            rows.append(item)
        if len(rows) == BATCH_SIZE:
            upload.store(from_rows(rows))
            rows = []
    if "resources" in members:
        try:
            loaded = PushSchema().load({**members, "resources": []} if members["resources"] is STREAMED else members)
        except ValidationError as exc:
            for detail in error_details(exc.messages):
                upload.refuse(detail["field"], detail["message"])
            return None
        return loaded["mode"]
    if members.get("data") is STREAMED:
        if assets is None:
            upload.store(from_rows(rows))
        elif not upload.problems:
            assets.finish()
        return None
    raise InvalidRequest(
        'Expected {"resources": [...]}, a Resource Graph export or a list of its rows',
        details=[{"field": "body", "message": "Unrecognised inventory format"}],
    )


class _AssetShaper:
    """Assets shaped a batch at a time by gcp.from_export. A project's row lists its log sinks, a
    project's IAM policy is named by the project id, a firewall rule is evaluated among the rules of
    its network and a dataset reads its own IAM policy, all from other lines of the export: those
    assets wait for the end, with the lines they need (the log sinks) kept aside."""

    def __init__(self, upload: _Upload):
        specs = [(name, spec) for name, spec in resource_types.items() if getattr(spec, "provider", "") == "gcp"]
        self.upload = upload
        self.needed_types = {asset_type for _, spec in specs for asset_type in spec.related.values()}
        # Types shaped with other lines: related documents, their own IAM policy, the project id.
        self.late_types = {spec.asset_type for _, spec in specs if spec.related or spec.own_iam_policy}
        self.late_types.add(PROJECT_ASSET_TYPE)
        self.late_names = {name for name, spec in specs if spec.asset_type in self.late_types}
        self.batch: list[dict] = []
        self.late: list[dict] = []
        self.needed: list[dict] = []

    def add(self, asset: dict) -> None:
        if asset["assetType"] in self.late_types:
            self.late.append(asset)
            return
        if asset["assetType"] in self.needed_types:
            self.needed.append(asset)
        self.batch.append(asset)
        if len(self.batch) == BATCH_SIZE:
            self.upload.store(from_export(self.batch))
            self.batch = []

    def finish(self) -> None:
        self.upload.store(from_export(self.batch))
        if self.late:
            shaped = from_export(self.late + self.needed)
            self.upload.store(r for r in shaped if r.resource_type in self.late_names)


def _read_asset_export(body: Body, upload: _Upload) -> None:
    """A `gcloud asset export` line by line (RESOURCE and IAM_POLICY content)."""
    upload.description = "The asset export does not validate"
    shaper = _AssetShaper(upload)
    for number, line in enumerate(body.lines(), start=1):
        line = line.strip(b" \t\r\x1e")  # a record separator (application/json-seq) is blank
        if not line:
            continue
        field = f"line {number}"
        upload.record(field)
        try:
            asset = json_names(json.loads(line.decode("utf-8-sig", "replace")))
        except ValueError:
            upload.refuse(field, "Not a JSON object")
            continue
        except RecursionError:
            upload.refuse(field, f"nested deeper than {jsonin.MAX_DEPTH} levels")
            continue
        if upload.accepts(field, asset, _asset_problem(asset)):
            shaper.add(asset)
    if not upload.problems:
        shaper.finish()


def _looks_like_an_asset_export(body: Body) -> bool:
    line, newline, _ = body.head.partition(b"\n")
    try:
        first = json.loads(line) if newline else None
    except (ValueError, RecursionError):
        return False
    return is_asset(first)


def push_upload(
    svc: Services,
    tenant_id: str,
    account_id: str,
    content_type: str | None,
    stream: IO[bytes],
    mode: str | None = None,
) -> dict[str, Any]:
    """Store an upload, read from `stream` in whichever format it is, as the account's inventory:
    a batch at a time in one transaction, so a bad resource anywhere stores nothing, and `replace`
    drops what the upload no longer has only once all of it is stored."""
    now = utcnow()
    with svc.db.session() as session:
        account = get_account(session, tenant_id, account_id)  # another tenant's account is 404 before anything else
        if mode not in (None, "replace", "merge"):
            raise InvalidRequest(details=[{"field": "mode", "message": "Must be one of: replace, merge."}])
        if account.collection != "inventory":
            raise Conflict(
                "This account is listed through its provider's API; create it with "
                '"collection": "inventory" to evaluate uploaded snapshots'
            )
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind not in NDJSON_TYPES + SNIFFED_TYPES:
            raise InvalidRequest(
                f"Unsupported inventory format '{kind}'; send application/json or application/x-ndjson"
            )
        before = session.scalar(select(func.count()).where(Resource.account_id == account.id))
        upload = _Upload(session, tenant_id, account.id, now, svc.settings.max_upload_resources)
        body = Body(stream)
        try:
            if kind in NDJSON_TYPES or _looks_like_an_asset_export(body):
                asked = _read_asset_export(body, upload)
            else:
                asked = _read_json(body, upload)
        except jsonin.JsonInputError as exc:  # the body stopped being JSON: nothing after it can be read
            malformed = {"field": exc.field, "message": exc.message}
            raise InvalidRequest("The request body is not valid JSON", details=[*upload.problems, malformed]) from None
        upload.finish()
        mode = mode or asked or "replace"
        removed = 0
        if mode == "replace":
            removed = session.execute(
                delete(Resource).where(Resource.account_id == account.id, Resource.last_seen < now)
            ).rowcount
        account.inventory_pushed_at = now
        after = session.scalar(select(func.count()).where(Resource.account_id == account.id))
        by_type = session.execute(
            select(Resource.resource_type, func.count())
            .where(Resource.account_id == account.id, Resource.last_seen == now)
            .group_by(Resource.resource_type)
            .order_by(Resource.resource_type)
        ).all()
    return {
        "account_id": account_id,
        "mode": mode,
        "received": upload.received,
        "stored": sum(count for _, count in by_type),
        "created": after - before + removed,
        "removed": removed,
        "resource_types": dict(by_type),
        "pushed_at": iso(now),
    }
