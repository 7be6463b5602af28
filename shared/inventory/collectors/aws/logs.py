"""CloudWatch Logs: log groups."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("aws.logs.log-group")
class LogGroup(AwsResource):
    service = "logs"
    list_operation = "describe_log_groups"
    list_key = "logGroups"
    paging = ("nextToken", "nextToken")
    page_size_param = "limit"
    page_size_limits = (1, 50)
    id_template = "{logGroupName}"
    name_template = "{logGroupName}"
    arn = "arn:aws:logs:{region}:{account}:log-group:{logGroupName}"
    volatile = ("storedBytes", "metricFilterCount")
