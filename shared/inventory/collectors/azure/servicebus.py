"""Service Bus: namespaces."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.servicebus.namespace")
class ServiceBusNamespace(AzureResource):
    """Resource Graph carries the namespace body (TLS floor, local SAS auth, public access)."""

    native_type = "microsoft.servicebus/namespaces"
    volatile = ("properties.provisioningState", "properties.status", "properties.updatedAt")
