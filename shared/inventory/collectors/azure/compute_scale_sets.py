"""Compute: virtual machine scale sets."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.compute.vmss")
class VirtualMachineScaleSet(AzureResource):
    """Resource Graph carries the scale set's model (upgrade policy, VM profile); it never carries
    virtualMachineProfile.userData, which only a GET with $expand=userData returns."""

    native_type = "microsoft.compute/virtualmachinescalesets"
    volatile = ("properties.provisioningState", "sku.capacity")
