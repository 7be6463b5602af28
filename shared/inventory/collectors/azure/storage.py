"""Storage: storage accounts."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.storage.account")
class StorageAccount(AzureResource):
    """Everything policies read is in the Resource Graph row (API 2023-01-01 shape); no detail call."""

    native_type = "microsoft.storage/storageaccounts"
    volatile = ("properties.provisioningState", "properties.statusOfPrimary", "properties.statusOfSecondary")

    @classmethod
    def normalise(cls, row: dict) -> dict:
        # The SDK models (and `az storage account show`) spell secure transfer enableHttpsTrafficOnly.
        properties = row.get("properties")
        if isinstance(properties, dict) and "supportsHttpsTrafficOnly" not in properties:
            if "enableHttpsTrafficOnly" in properties:
                properties["supportsHttpsTrafficOnly"] = properties.pop("enableHttpsTrafficOnly")
        return row
