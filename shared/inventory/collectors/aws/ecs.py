"""ECS: clusters with their settings, and the latest active revision of each task definition family."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("ecs:ListClusters", "ecs", "list_clusters", {"maxResults": 1})


class _EcsResource(AwsResource):
    service = "ecs"
    paging = ("nextToken", "nextToken")
    page_size_param = "maxResults"
    page_size_limits = (1, 100)


@resource_types.register("aws.ecs.cluster")
class EcsCluster(_EcsResource):
    """Clusters are listed as ARNs; the document is DescribeClusters' cluster (with its settings)."""

    list_operation = "list_clusters"
    list_key = "clusterArns"
    list_wrap = "clusterArn"
    id_template = "{clusterName}"
    name_template = "{clusterName}"
    arn = "{clusterArn}"
    arn_prefix = "arn:aws:ecs:"
    details = (
        Detail(
            "describe_clusters",
            {"clusters": [Ref("clusterArn")], "include": ["SETTINGS", "TAGS"]},
            "clusters",
            "clusters",
        ),
    )
    volatile = (
        "status",
        "registeredContainerInstancesCount",
        "runningTasksCount",
        "pendingTasksCount",
        "activeServicesCount",
        "statistics",
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for cluster in item.pop("clusters", None) or []:
            item.update(cluster)
        return item


@resource_types.register("aws.ecs.task-definition")
class EcsTaskDefinition(_EcsResource):
    """One resource per family with an active revision: DescribeTaskDefinition given a family
    answers its latest ACTIVE revision, the one new tasks and services get, and the revision
    Security Hub's ECS controls evaluate. The document is that task definition; the uid names
    the family, so a new revision updates the resource instead of adding one."""

    list_operation = "list_task_definition_families"
    list_key = "families"
    list_wrap = "family"
    list_params = {"status": "ACTIVE"}
    id_template = "{family}"
    name_template = "{family}"
    arn = "arn:aws:ecs:{region}:{account}:task-definition/{family}"
    # The whole answer: the task definition and, beside it, its tags.
    details = (Detail("describe_task_definition", {"taskDefinition": Ref("family"), "include": ["TAGS"]}, "Described"),)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        described = item.pop("Described", None) or {}
        item.update(described.get("taskDefinition") or {})
        item["Tags"] = described.get("tags") or []
        return item
