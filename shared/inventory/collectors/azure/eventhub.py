"""Event Hubs: namespaces."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.eventhub.namespace")
class EventHubNamespace(AzureResource):
    """Resource Graph carries the namespace body (TLS floor, local SAS auth, public access)."""

    native_type = "microsoft.eventhub/namespaces"
    volatile = ("properties.provisioningState", "properties.status", "properties.updatedAt")
