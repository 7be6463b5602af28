"""Lambda: functions with their resource policies, function URL and reserved concurrency."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("lambda:ListFunctions", "lambda", "list_functions", {"MaxItems": 1})


@resource_types.register("aws.lambda.function")
class LambdaFunction(AwsResource):
    """VPC, dead-letter, tracing and KMS settings come with the listing; three detail calls add
    the resource policy, the function URL (of the unqualified function: GetFunctionUrlConfig,
    since a URL on an alias would need ListFunctionUrlConfigs per function) and the reserved
    concurrency (`Concurrency`, as GetFunction shows it: empty when none is reserved)."""

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
        Detail(
            "get_function_url_config",
            {"FunctionName": Ref("FunctionArn")},
            "FunctionUrlConfig",
            missing_codes=("ResourceNotFoundException",),  # no function URL
        ),
        Detail("get_function_concurrency", {"FunctionName": Ref("FunctionArn")}, "Concurrency"),
        Detail("list_tags", {"Resource": Ref("FunctionArn")}, "Tags", "Tags"),
    )
    volatile = ("LastModified", "State", "LastUpdateStatus")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item
