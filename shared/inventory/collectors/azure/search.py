"""AI Search: search services."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.search.service")
class SearchService(AzureResource):
    """Resource Graph carries the service body (public network access, network rules, local auth)."""

    native_type = "microsoft.search/searchservices"
    volatile = ("properties.provisioningState", "properties.status", "properties.statusDetails")
