"""Elastic Load Balancing (Classic Load Balancers)."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import settings_map
from shared.inventory.collectors.base import resource_types

probe("elasticloadbalancing:DescribeLoadBalancers", "elb", "describe_load_balancers", {"PageSize": 1})


@resource_types.register("aws.elb.load-balancer")
class ClassicLoadBalancer(AwsResource):
    """Classic Load Balancers with their attributes (access log, cross-zone, connection draining;
    AdditionalAttributes such as the desync mitigation mode become an object, as ELBv2's do)."""

    service = "elb"
    list_operation = "describe_load_balancers"
    list_key = "LoadBalancerDescriptions"
    paging = ("Marker", "NextMarker")
    page_size_param = "PageSize"
    page_size_limits = (1, 400)
    id_template = "{LoadBalancerName}"
    name_template = "{LoadBalancerName}"
    arn = "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{LoadBalancerName}"
    details = (
        Detail(
            "describe_load_balancer_attributes",
            {"LoadBalancerName": Ref("LoadBalancerName")},
            "LoadBalancerAttributes",
            "LoadBalancerAttributes",
        ),
        Detail("describe_tags", {"LoadBalancerNames": [Ref("LoadBalancerName")]}, "Tags", "TagDescriptions.0.Tags"),
    )
    volatile = ("Instances",)  # registered instances come and go with scaling

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        attributes = item.get("LoadBalancerAttributes")
        if isinstance(attributes, dict) and "AdditionalAttributes" in attributes:
            attributes["AdditionalAttributes"] = settings_map(attributes["AdditionalAttributes"])
        return item
