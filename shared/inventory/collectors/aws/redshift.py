"""Redshift: provisioned clusters with their audit logging status and parameters."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("redshift:DescribeClusters", "redshift", "describe_clusters", {"MaxRecords": 20})


@resource_types.register("aws.redshift.cluster")
class RedshiftCluster(AwsResource):
    """Clusters with `LoggingStatus` (DescribeLoggingStatus) and, in each of `ClusterParameterGroups`,
    its `Parameters`: a Redshift group has about twenty, within the API's default page of 100.
    `ParameterValues` gathers them as name -> value."""

    service = "redshift"
    list_operation = "describe_clusters"
    list_key = "Clusters"
    paging = ("Marker", "Marker")
    page_size_param = "MaxRecords"
    page_size_limits = (20, 100)
    id_template = "{ClusterIdentifier}"
    name_template = "{ClusterIdentifier}"
    arn = "arn:aws:redshift:{region}:{account}:cluster:{ClusterIdentifier}"
    details = (
        Detail("describe_logging_status", {"ClusterIdentifier": Ref("ClusterIdentifier")}, "LoggingStatus"),
        Detail(
            "describe_cluster_parameters",
            {"ParameterGroupName": Ref("ParameterGroupName")},
            "Parameters",
            "Parameters",
            each="ClusterParameterGroups",
        ),
    )
    volatile = (
        "ClusterStatus",
        "ClusterAvailabilityStatus",
        "PendingModifiedValues",
        "TotalStorageCapacityInMegaBytes",
        "NextMaintenanceWindowStartTime",
        "ExpectedNextSnapshotScheduleTime",
        "ExpectedNextSnapshotScheduleTimeStatus",
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        status = item.get("LoggingStatus")
        if isinstance(status, dict):  # delivery times change with every log file
            for key in ("LastSuccessfulDeliveryTime", "LastFailureTime", "LastFailureMessage"):
                status.pop(key, None)
        item["ParameterValues"] = {
            p["ParameterName"]: p.get("ParameterValue")
            for group in item.get("ClusterParameterGroups") or []
            for p in group.get("Parameters") or []
            if isinstance(p, dict) and p.get("ParameterName")
        }
        return item
