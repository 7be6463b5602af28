"""Key Vault: managed HSM pools."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.keyvault.managed-hsm")
class ManagedHsm(AzureResource):
    """Resource Graph carries the HSM body (soft delete, purge protection, public network access)."""

    native_type = "microsoft.keyvault/managedhsms"
    volatile = ("properties.provisioningState", "properties.statusMessage", "properties.securityDomainProperties")
