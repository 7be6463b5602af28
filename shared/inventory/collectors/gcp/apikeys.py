"""API Keys: keys (restrictions, age)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


def _days_since(timestamp: object, now: datetime) -> int | None:
    """Whole days since an RFC 3339 timestamp ("2024-01-02T03:04:05.123456Z"); None when unreadable."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0, (now - at).days)


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
        age = _days_since(document.get("createTime"), now or datetime.now(UTC))
        if age is not None:
            document["ageDays"] = age
        return document
