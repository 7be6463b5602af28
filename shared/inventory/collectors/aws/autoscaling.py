"""EC2 Auto Scaling: groups and launch configurations."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, probe
from shared.inventory.collectors.base import resource_types

probe("autoscaling:DescribeAutoScalingGroups", "autoscaling", "describe_auto_scaling_groups", {"MaxRecords": 1})


class _AutoScalingResource(AwsResource):
    service = "autoscaling"
    page_size_param = "MaxRecords"
    page_size_limits = (1, 100)
    arn_prefix = "arn:aws:autoscaling:"


@resource_types.register("aws.autoscaling.group")
class AutoScalingGroup(_AutoScalingResource):
    list_operation = "describe_auto_scaling_groups"
    list_key = "AutoScalingGroups"
    id_template = "{AutoScalingGroupName}"
    name_template = "{AutoScalingGroupName}"
    arn = "{AutoScalingGroupARN}"
    volatile = ("Instances", "DesiredCapacity", "Status")  # they change with every scaling action


@resource_types.register("aws.autoscaling.launch-configuration")
class LaunchConfiguration(_AutoScalingResource):
    list_operation = "describe_launch_configurations"
    list_key = "LaunchConfigurations"
    id_template = "{LaunchConfigurationName}"
    name_template = "{LaunchConfigurationName}"
    arn = "{LaunchConfigurationARN}"

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # User data is often a script with secrets in it; no policy reads it, so it is not stored.
        item.pop("UserData", None)
        return item
