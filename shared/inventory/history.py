"""A resource's configuration history: the versions upsert_resources records when the configuration
hash moves, newest first, each with the JSON Patch (RFC 6902) from the version before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonpatch
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.inventory.models import Resource, ResourceVersion
from shared.inventory.resources import get_resource
from shared.platform.durations import iso

MAX_LIMIT = 100
MAX_VERSION = 2**31 - 1  # the column is an integer: a larger `before` is no version


class HistoryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))
    before = fields.Integer(
        validate=validate.Range(min=1, max=MAX_VERSION),
        metadata={"description": "versions older than this one: `next_before` of the previous page"},
    )
    include = fields.String(
        validate=validate.OneOf(("configuration",)),
        metadata={"description": "`configuration`: each version's full configuration document too"},
    )


@dataclass(frozen=True)
class HistoryPage:
    resource: Resource
    versions: list[ResourceVersion]  # newest first
    # The version just before the last listed one: what its changes are computed against, and
    # (when there is one) the sign of another page.
    older: ResourceVersion | None


def list_versions(
    session: Session, tenant_id: str, resource_public_id: str, limit: int, before_version: int | None = None
) -> HistoryPage:
    """A page of the resource's versions, newest first, older than `before_version` when given.
    Another tenant's resource is NotFound (get_resource)."""
    resource = get_resource(session, tenant_id, resource_public_id)
    query = select(ResourceVersion).where(ResourceVersion.resource_id == resource.id)
    if before_version is not None:
        query = query.where(ResourceVersion.version < before_version)
    # One row more than the page: the predecessor of the oldest listed version.
    rows = list(session.scalars(query.order_by(ResourceVersion.version.desc()).limit(limit + 1)))
    return HistoryPage(resource, rows[:limit], rows[limit] if len(rows) > limit else None)


def diff(old: dict, new: dict) -> list[dict]:
    """The JSON Patch (RFC 6902) that turns `old` into `new`, as a list of operations."""
    return list(jsonpatch.make_patch(old, new).patch)


def render_history(page: HistoryPage, limit: int, include_configuration: bool = False) -> dict[str, Any]:
    # Newest first: each version's predecessor is the next one, the oldest's is `older` (zip stops
    # at once for an empty page).
    predecessors = [*page.versions[1:], page.older]
    versions = []
    for version, previous in zip(page.versions, predecessors, strict=False):
        rendered = {
            "version": version.version,
            "config_hash": version.config_hash,
            "scan_id": version.scan_id,
            "recorded_at": iso(version.recorded_at),
            "changes": diff(previous.config, version.config) if previous is not None else [],
        }
        if include_configuration:
            rendered["configuration"] = version.config
        versions.append(rendered)
    more = page.older is not None
    return {
        "resource_id": page.resource.public_id,
        "current_version": page.resource.config_version,
        "versions": versions,
        "pagination": {
            "limit": limit,
            "has_more": more,
            "next_before": page.versions[-1].version if more else None,
        },
    }
