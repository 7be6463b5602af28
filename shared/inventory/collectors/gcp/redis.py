"""Memorystore for Redis: instances (AUTH, in-transit encryption)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource, short_id


@resource_types.register("gcp.redis.instance")
class RedisInstance(GcpResource):
    asset_type = "redis.googleapis.com/Instance"
    volatile = ("state", "currentLocationId", "nodes")

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return short_id(str(document.get("name") or asset_name))  # projects/P/locations/L/instances/I -> I
