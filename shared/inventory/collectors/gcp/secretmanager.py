"""Secret Manager: secrets (rotation schedule)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource, seconds, short_id


@resource_types.register("gcp.secretmanager.secret")
class Secret(GcpResource):
    asset_type = "secretmanager.googleapis.com/Secret"
    volatile = ("rotation.nextRotationTime", "etag")

    @classmethod
    def normalise(cls, document: dict) -> dict:
        # The condition language compares numbers, not durations: expose the period in seconds.
        rotation = document.get("rotation")
        period = seconds(rotation.get("rotationPeriod")) if isinstance(rotation, dict) else None
        if period is not None:
            rotation["rotationPeriodSeconds"] = period
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return short_id(str(document.get("name") or asset_name))  # projects/P/secrets/S -> S
