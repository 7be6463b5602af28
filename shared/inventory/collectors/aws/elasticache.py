"""ElastiCache: replication groups (Redis OSS and Valkey) and cache clusters."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("elasticache:DescribeCacheClusters", "elasticache", "describe_cache_clusters", {"MaxRecords": 20})


class _ElastiCacheResource(AwsResource):
    service = "elasticache"
    paging = ("Marker", "Marker")
    page_size_param = "MaxRecords"
    page_size_limits = (20, 100)
    arn = "{ARN}"
    arn_prefix = "arn:aws:elasticache:"
    details = (Detail("list_tags_for_resource", {"ResourceName": Ref("ARN")}, "TagList", "TagList"),)


@resource_types.register("aws.elasticache.replication-group")
class ReplicationGroup(_ElastiCacheResource):
    list_operation = "describe_replication_groups"
    list_key = "ReplicationGroups"
    id_template = "{ReplicationGroupId}"
    name_template = "{ReplicationGroupId}"
    volatile = ("Status", "PendingModifiedValues", "NodeGroups")


@resource_types.register("aws.elasticache.cache-cluster")
class CacheCluster(_ElastiCacheResource):
    """Every cache cluster: Memcached clusters, and the nodes of Redis OSS replication groups."""

    list_operation = "describe_cache_clusters"
    list_key = "CacheClusters"
    id_template = "{CacheClusterId}"
    name_template = "{CacheClusterId}"
    volatile = ("CacheClusterStatus", "PendingModifiedValues", "CacheNodes")
