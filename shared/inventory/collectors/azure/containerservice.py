"""Container Service: AKS managed clusters."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.containerservice.cluster")
class KubernetesCluster(AzureResource):
    """enableRBAC is in the Resource Graph row; no detail call."""

    native_type = "microsoft.containerservice/managedclusters"
    volatile = ("properties.provisioningState", "properties.powerState")
