"""RDS: DB instances and snapshots."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref
from shared.inventory.collectors.base import resource_types


class _RdsResource(AwsResource):
    service = "rds"
    paging = ("Marker", "Marker")
    page_size_param = "MaxRecords"
    page_size_limits = (20, 100)
    arn_prefix = "arn:aws:rds:"


@resource_types.register("aws.rds.instance")
class RdsInstance(_RdsResource):
    list_operation = "describe_db_instances"
    list_key = "DBInstances"
    id_template = "{DBInstanceIdentifier}"
    name_template = "{DBInstanceIdentifier}"
    arn = "{DBInstanceArn}"
    volatile = ("DBInstanceStatus", "LatestRestorableTime", "PendingModifiedValues")


@resource_types.register("aws.rds.snapshot")
class RdsSnapshot(_RdsResource):
    list_operation = "describe_db_snapshots"
    list_key = "DBSnapshots"
    id_template = "{DBSnapshotIdentifier}"
    name_template = "{DBSnapshotIdentifier}"
    arn = "{DBSnapshotArn}"
    details = (
        Detail(
            "describe_db_snapshot_attributes",
            {"DBSnapshotIdentifier": Ref("DBSnapshotIdentifier")},
            "SnapshotAttributes",
            "DBSnapshotAttributesResult.DBSnapshotAttributes",
        ),
    )
    volatile = ("Status", "PercentProgress")
