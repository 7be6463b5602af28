"""Key Vault: vaults."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.keyvault.vault")
class KeyVault(AzureResource):
    """Soft delete and purge protection are in the Resource Graph row; no detail call. A vault
    without enableSoftDelete (API versions before 2019-09-01 left it unset when soft delete was off)
    or enablePurgeProtection (unset until enabled) has that protection off."""

    native_type = "microsoft.keyvault/vaults"
