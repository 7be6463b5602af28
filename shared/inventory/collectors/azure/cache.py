"""Azure Cache for Redis: caches."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.cache.redis")
class RedisCache(AzureResource):
    """Resource Graph carries the cache body (non-TLS port, minimum TLS version, public access)."""

    native_type = "microsoft.cache/redis"
    volatile = ("properties.provisioningState", "properties.instances")
