"""Container Apps: container apps."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.app.container-app")
class ContainerApp(AzureResource):
    """Resource Graph carries the app body (ingress: external, allowInsecure, IP restrictions)."""

    native_type = "microsoft.app/containerapps"
    volatile = (
        "properties.provisioningState",
        "properties.runningStatus",
        "properties.latestRevisionName",
        "properties.latestRevisionFqdn",
        "properties.latestReadyRevisionName",
    )
