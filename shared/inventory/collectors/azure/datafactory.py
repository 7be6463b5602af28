"""Data Factory: factories."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.datafactory.factory")
class DataFactory(AzureResource):
    """Resource Graph carries the factory body (public network access, identity, repository)."""

    native_type = "microsoft.datafactory/factories"
