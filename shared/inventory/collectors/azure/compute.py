"""Compute: virtual machines and managed disks."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.compute.vm")
class VirtualMachine(AzureResource):
    """The storage profile is in the Resource Graph row; no detail call."""

    native_type = "microsoft.compute/virtualmachines"
    volatile = ("properties.provisioningState", "properties.extended")  # instance view: power state


@resource_types.register("azure.compute.disk")
class ManagedDisk(AzureResource):
    """Encryption and network access policy are in the Resource Graph row; no detail call."""

    native_type = "microsoft.compute/disks"
    volatile = ("properties.provisioningState", "properties.diskState", "properties.lastOwnershipUpdateTime")
