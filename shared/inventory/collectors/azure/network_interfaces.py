"""Network: network interfaces."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.network.nic")
class NetworkInterface(AzureResource):
    """Resource Graph carries the interface body (IP forwarding, IP configurations, NSG)."""

    native_type = "microsoft.network/networkinterfaces"
    volatile = ("properties.provisioningState", "properties.macAddress", "properties.virtualMachine")
