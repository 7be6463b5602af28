"""RDS (and the DocumentDB and Neptune clusters the same API serves): DB instances and clusters,
their snapshots, parameter groups, and the region's event subscriptions."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Predicate, Ref, field_equals, probe
from shared.inventory.collectors.base import resource_types

probe("rds:DescribeDBInstances", "rds", "describe_db_instances", {"MaxRecords": 20})


class _RdsResource(AwsResource):
    service = "rds"
    paging = ("Marker", "Marker")
    page_size_param = "MaxRecords"
    page_size_limits = (20, 100)
    arn_prefix = "arn:aws:rds:"


def _family_starts(*prefixes: str) -> Predicate:
    """A parameter group of one of these engine families (the call is made for those only)."""
    return lambda item: str(item.get("DBParameterGroupFamily", "")).startswith(prefixes)


def _only(name: str) -> list[dict]:
    """DescribeDB(Cluster)Parameters pages at 100 of a group's several hundred parameters; filtered
    to the one parameter a policy reads, the first page holds it."""
    return [{"Name": "parameter-name", "Values": [name]}]


def _tls_parameter(operation: str, group: str, name: str, *families: str) -> Detail:
    """The parameter that makes the engines of `families` refuse unencrypted connections."""
    return Detail(
        operation,
        {group: Ref(group), "Filters": _only(name)},
        "Parameters",
        "Parameters",
        when=_family_starts(*families),
    )


def _parameter_values(item: dict) -> dict:
    """The group's parameters as name -> value, dots as underscores (a dot is a step in a key path);
    a parameter left at an engine default without a value has no entry."""
    return {
        str(p["ParameterName"]).replace(".", "_"): p["ParameterValue"]
        for p in item.get("Parameters") or []
        if isinstance(p, dict) and p.get("ParameterName") and p.get("ParameterValue") is not None
    }


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
            # Only manual snapshots can be shared; automated ones have nothing to read.
            when=field_equals("SnapshotType", "manual"),
        ),
    )
    volatile = ("Status", "PercentProgress")


@resource_types.register("aws.rds.cluster")
class RdsCluster(_RdsResource):
    """Aurora and Multi-AZ DB clusters, and the DocumentDB and Neptune clusters the RDS API lists too."""

    list_operation = "describe_db_clusters"
    list_key = "DBClusters"
    id_template = "{DBClusterIdentifier}"
    name_template = "{DBClusterIdentifier}"
    arn = "{DBClusterArn}"
    volatile = (
        "Status",
        "EarliestRestorableTime",
        "LatestRestorableTime",
        "EarliestBacktrackTime",
        "Capacity",
        "PendingModifiedValues",
    )


@resource_types.register("aws.rds.cluster-snapshot")
class RdsClusterSnapshot(_RdsResource):
    list_operation = "describe_db_cluster_snapshots"
    list_key = "DBClusterSnapshots"
    id_template = "{DBClusterSnapshotIdentifier}"
    name_template = "{DBClusterSnapshotIdentifier}"
    arn = "{DBClusterSnapshotArn}"
    details = (
        Detail(
            "describe_db_cluster_snapshot_attributes",
            {"DBClusterSnapshotIdentifier": Ref("DBClusterSnapshotIdentifier")},
            "SnapshotAttributes",
            "DBClusterSnapshotAttributesResult.DBClusterSnapshotAttributes",
            when=field_equals("SnapshotType", "manual"),  # as for DB snapshots
        ),
    )
    volatile = ("Status", "PercentProgress")


@resource_types.register("aws.rds.parameter-group")
class RdsParameterGroup(_RdsResource):
    """DB parameter groups with the parameter that enforces TLS in their engine family (PostgreSQL,
    SQL Server, MySQL, MariaDB); other families have none and cost no call."""

    list_operation = "describe_db_parameter_groups"
    list_key = "DBParameterGroups"
    id_template = "{DBParameterGroupName}"
    name_template = "{DBParameterGroupName}"
    arn = "{DBParameterGroupArn}"
    details = (
        _tls_parameter("describe_db_parameters", "DBParameterGroupName", "rds.force_ssl", "postgres", "sqlserver"),
        _tls_parameter(
            "describe_db_parameters", "DBParameterGroupName", "require_secure_transport", "mysql", "mariadb"
        ),
        Detail("list_tags_for_resource", {"ResourceName": Ref("DBParameterGroupArn")}, "TagList", "TagList"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["ParameterValues"] = _parameter_values(item)
        return item


@resource_types.register("aws.rds.cluster-parameter-group")
class RdsClusterParameterGroup(_RdsResource):
    """DB cluster parameter groups (Aurora, Multi-AZ DB clusters, DocumentDB) with the parameter
    that enforces TLS in their engine family."""

    list_operation = "describe_db_cluster_parameter_groups"
    list_key = "DBClusterParameterGroups"
    id_template = "{DBClusterParameterGroupName}"
    name_template = "{DBClusterParameterGroupName}"
    arn = "{DBClusterParameterGroupArn}"
    details = (
        _tls_parameter(
            "describe_db_cluster_parameters",
            "DBClusterParameterGroupName",
            "rds.force_ssl",
            "aurora-postgresql",
            "postgres",
        ),
        _tls_parameter(
            "describe_db_cluster_parameters",
            "DBClusterParameterGroupName",
            "require_secure_transport",
            "aurora-mysql",
            "aurora5.6",
            "mysql",
        ),
        _tls_parameter("describe_db_cluster_parameters", "DBClusterParameterGroupName", "tls", "docdb"),
        Detail("list_tags_for_resource", {"ResourceName": Ref("DBClusterParameterGroupArn")}, "TagList", "TagList"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["ParameterValues"] = _parameter_values(item)
        return item


@resource_types.register("aws.rds.event-subscriptions")
class RdsEventSubscriptions(_RdsResource):
    """One pseudo-resource per region: its RDS event subscriptions, and whether it has DB instances
    or clusters at all (so a region without databases is not asked to subscribe to their events).
    One call reads up to 100 subscriptions, the API's default page, far more than a region uses."""

    list_operation = "describe_event_subscriptions"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:rds:{region}:{account}:event-subscriptions"
    arn_prefix = None
    details = (
        Detail("describe_db_instances", {"MaxRecords": 20}, "DBInstances", "DBInstances"),
        Detail("describe_db_clusters", {"MaxRecords": 20}, "DBClusters", "DBClusters"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # Only whether there are any: the databases themselves are documents of their own types.
        item["HasDBInstances"] = bool(item.pop("DBInstances", None))
        item["HasDBClusters"] = bool(item.pop("DBClusters", None))
        item.pop("Marker", None)
        return item
