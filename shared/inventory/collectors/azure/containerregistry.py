"""Container Registry: registries."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.containerregistry.registry")
class ContainerRegistry(AzureResource):
    """Resource Graph carries the whole registry body (admin user, anonymous pull, network rules)."""

    native_type = "microsoft.containerregistry/registries"
    volatile = (
        "properties.provisioningState",
        "properties.status",
        "properties.policies.retentionPolicy.lastUpdatedTime",
    )
