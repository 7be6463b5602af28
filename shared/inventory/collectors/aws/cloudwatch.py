"""CloudWatch: metric alarms."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("cloudwatch:DescribeAlarms", "cloudwatch", "describe_alarms", {"MaxRecords": 1})


@resource_types.register("aws.cloudwatch.alarm")
class CloudWatchAlarm(AwsResource):
    """Metric alarms (DescribeAlarms without AlarmTypes lists these only; composite alarms
    combine them)."""

    service = "cloudwatch"
    list_operation = "describe_alarms"
    list_key = "MetricAlarms"
    page_size_param = "MaxRecords"
    page_size_limits = (1, 100)
    id_template = "{AlarmName}"
    name_template = "{AlarmName}"
    arn = "{AlarmArn}"
    arn_prefix = "arn:aws:cloudwatch:"
    details = (Detail("list_tags_for_resource", {"ResourceARN": Ref("AlarmArn")}, "Tags", "Tags"),)
    volatile = (
        "StateValue",
        "StateReason",
        "StateReasonData",
        "StateUpdatedTimestamp",
        "StateTransitionedTimestamp",
    )
