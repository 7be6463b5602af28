"""Lambda: functions with their resource policies."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types


@resource_types.register("aws.lambda.function")
class LambdaFunction(AwsResource):
    service = "lambda"
    list_operation = "list_functions"
    list_key = "Functions"
    paging = ("Marker", "NextMarker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 50)
    id_template = "{FunctionName}"
    name_template = "{FunctionName}"
    arn = "{FunctionArn}"
    arn_prefix = "arn:aws:lambda:"
    details = (
        Detail(
            "get_policy",
            {"FunctionName": Ref("FunctionArn")},
            "Policy",
            "Policy",
            missing_codes=("ResourceNotFoundException",),  # no resource-based policy
        ),
    )
    volatile = ("LastModified", "State", "LastUpdateStatus")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item
