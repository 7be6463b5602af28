"""Compute Engine instance templates: the settings every instance created from them gets."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.compute import INSTANCE_RENAMES
from shared.inventory.collectors.gcp.declare import GcpResource
from shared.inventory.collectors.gcp.shaping import renamed


@resource_types.register("gcp.compute.instance-template")
class ComputeInstanceTemplate(GcpResource):
    asset_type = "compute.googleapis.com/InstanceTemplate"

    @classmethod
    def normalise(cls, document: dict) -> dict:
        # `properties` is an InstanceProperties: the instance's own fields, with the same older
        # Cloud Asset Inventory spellings (accessConfig, serviceAccount, metadata.item).
        renamed(document.get("properties"), INSTANCE_RENAMES)
        return document
