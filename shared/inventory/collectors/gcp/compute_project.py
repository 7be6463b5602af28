"""Compute Engine project settings: the metadata every instance of the project inherits."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.compute.project")
class ComputeProject(GcpResource):
    asset_type = "compute.googleapis.com/Project"
    volatile = ("commonInstanceMetadata.fingerprint", "quotas")
