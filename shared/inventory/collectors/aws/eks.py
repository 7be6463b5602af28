"""EKS: clusters (endpoint access, secrets encryption, control plane logging, version)."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("eks:ListClusters", "eks", "list_clusters", {"maxResults": 1})


@resource_types.register("aws.eks.cluster")
class EksCluster(AwsResource):
    """Clusters are listed as names; the document is DescribeCluster's cluster."""

    service = "eks"
    list_operation = "list_clusters"
    list_key = "clusters"
    list_wrap = "name"
    paging = ("nextToken", "nextToken")
    page_size_param = "maxResults"
    page_size_limits = (1, 100)
    id_template = "{name}"
    name_template = "{name}"
    arn = "{arn}"
    arn_prefix = "arn:aws:eks:"
    details = (Detail("describe_cluster", {"name": Ref("name")}, "cluster", "cluster"),)
    volatile = ("status", "health")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item.update(item.pop("cluster", None) or {})
        return item
