"""DynamoDB: tables with their continuous backups, and DAX clusters."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("dynamodb:ListTables", "dynamodb", "list_tables", {"Limit": 1})
probe("dax:DescribeClusters", "dax", "describe_clusters", {"MaxResults": 20})


@resource_types.register("aws.dynamodb.table")
class DynamoDbTable(AwsResource):
    """Tables as DescribeTable gives them (the TableDescription's fields at the top), with
    `ContinuousBackupsDescription` from DescribeContinuousBackups."""

    service = "dynamodb"
    list_operation = "list_tables"
    list_key = "TableNames"
    list_wrap = "TableName"
    paging = ("ExclusiveStartTableName", "LastEvaluatedTableName")
    page_size_param = "Limit"
    page_size_limits = (1, 100)
    id_template = "{TableName}"
    name_template = "{TableName}"
    arn = "arn:aws:dynamodb:{region}:{account}:table/{TableName}"
    details = (
        Detail("describe_table", {"TableName": Ref("TableName")}, "Table", "Table"),
        Detail(
            "describe_continuous_backups",
            {"TableName": Ref("TableName")},
            "ContinuousBackupsDescription",
            "ContinuousBackupsDescription",
        ),
        Detail(
            "list_tags_of_resource",
            {"ResourceArn": Ref("Table.TableArn")},
            "Tags",
            "Tags",
            after=True,  # reads describe_table's answer
        ),
    )
    volatile = ("TableStatus", "TableSizeBytes", "ItemCount", "ProvisionedThroughput", "WarmThroughput")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        table = item.pop("Table", None) or {}
        backups = item.get("ContinuousBackupsDescription")
        if isinstance(backups, dict):
            # The restorable window moves every second; whether recovery is on is what policies read.
            recovery = backups.get("PointInTimeRecoveryDescription") or {}
            recovery.pop("EarliestRestorableDateTime", None)
            recovery.pop("LatestRestorableDateTime", None)
        return {**item, **table}


@resource_types.register("aws.dax.cluster")
class DaxCluster(AwsResource):
    service = "dax"
    list_operation = "describe_clusters"
    list_key = "Clusters"
    page_size_limits = (20, 100)
    id_template = "{ClusterName}"
    name_template = "{ClusterName}"
    arn = "{ClusterArn}"
    arn_prefix = "arn:aws:dax:"
    details = (Detail("list_tags", {"ResourceName": Ref("ClusterArn")}, "Tags", "Tags"),)
    volatile = ("Status", "ActiveNodes", "Nodes", "NodeIdsToRemove")
