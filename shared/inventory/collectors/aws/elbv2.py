"""Elastic Load Balancing v2: load balancers and listeners."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import settings_map
from shared.inventory.collectors.base import resource_types

probe("elasticloadbalancing:DescribeLoadBalancers", "elbv2", "describe_load_balancers", {"PageSize": 1})


class _Elbv2Resource(AwsResource):
    service = "elbv2"
    paging = ("Marker", "NextMarker")
    page_size_param = "PageSize"
    page_size_limits = (1, 400)
    arn_prefix = "arn:aws:elasticloadbalancing:"


@resource_types.register("aws.elbv2.load-balancer")
class LoadBalancer(_Elbv2Resource):
    list_operation = "describe_load_balancers"
    list_key = "LoadBalancers"
    id_template = "{LoadBalancerName}"
    name_template = "{LoadBalancerName}"
    arn = "{LoadBalancerArn}"
    details = (
        Detail(
            "describe_load_balancer_attributes", {"LoadBalancerArn": Ref("LoadBalancerArn")}, "Attributes", "Attributes"
        ),
        # One ARN a call (the API takes up to 20): a call per item runs within the stage's concurrency.
        Detail("describe_tags", {"ResourceArns": [Ref("LoadBalancerArn")]}, "Tags", "TagDescriptions.0.Tags"),
    )
    volatile = ("State",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["Attributes"] = settings_map(item.get("Attributes", []))
        return item


@resource_types.register("aws.elbv2.listener")
class Listener(_Elbv2Resource):
    """Listeners of each load balancer (a child type: the API lists them per load balancer ARN)."""

    list_operation = "describe_listeners"
    list_key = "Listeners"
    parent = "aws.elbv2.load-balancer"
    parent_params = {"LoadBalancerArn": Ref("LoadBalancerArn")}
    parent_fields = ("LoadBalancerName",)
    id_template = "{ListenerArn}"
    name_template = "{LoadBalancerName}:{Port}"
    arn = "{ListenerArn}"
    details = (Detail("describe_tags", {"ResourceArns": [Ref("ListenerArn")]}, "Tags", "TagDescriptions.0.Tags"),)
