"""Cosmos DB: database accounts."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.cosmosdb.account")
class CosmosDbAccount(AzureResource):
    """Network and authentication settings are in the Resource Graph row; no detail call."""

    native_type = "microsoft.documentdb/databaseaccounts"

    @classmethod
    def normalise(cls, row: dict) -> dict:
        # API versions before 2020-04-01 gave the IP firewall as ipRangeFilter, a comma-separated
        # string; later ones as ipRules: policies read ipRules.
        properties = row.get("properties")
        if isinstance(properties, dict) and "ipRules" not in properties and "ipRangeFilter" in properties:
            ranges = str(properties.pop("ipRangeFilter") or "").split(",")
            properties["ipRules"] = [{"ipAddressOrRange": value.strip()} for value in ranges if value.strip()]
        return row
