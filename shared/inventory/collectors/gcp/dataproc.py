"""Dataproc: clusters (disk encryption, public addresses)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.dataproc.cluster")
class DataprocCluster(GcpResource):
    asset_type = "dataproc.googleapis.com/Cluster"
    name_field = "clusterName"
    volatile = ("status", "statusHistory", "metrics")
