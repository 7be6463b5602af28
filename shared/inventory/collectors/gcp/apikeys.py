"""API Keys: keys (restrictions, age)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource
from shared.inventory.collectors.gcp.shaping import days_since


@resource_types.register("gcp.apikeys.key")
class ApiKey(GcpResource):
    asset_type = "apikeys.googleapis.com/Key"
    name_field = "displayName"
    volatile = ("ageDays", "etag", "updateTime")
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, document: dict, now: datetime | None = None) -> dict:
        # The condition language compares numbers, not timestamps: expose the key's age in days.
        age = days_since(document.get("createTime"), now or datetime.now(UTC))
        if age is not None:
            document["ageDays"] = age
        return document
