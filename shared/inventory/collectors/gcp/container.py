"""Google Kubernetes Engine: clusters."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.container.cluster")
class ContainerCluster(GcpResource):
    asset_type = "container.googleapis.com/Cluster"
    volatile = ("status", "currentNodeCount", "currentMasterVersion", "currentNodeVersion", "conditions")
