"""SQS: queues with their attributes (encryption, access policy, redrive)."""

from __future__ import annotations

import json
from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("sqs:ListQueues", "sqs", "list_queues", {"MaxResults": 1})


def _without_redrive_policy(item: dict) -> bool:
    return "RedrivePolicy" not in (item.get("Attributes") or {})


@resource_types.register("aws.sqs.queue")
class SqsQueue(AwsResource):
    """Queues are listed as URLs. `Attributes` is GetQueueAttributes' answer with "true"/"false"
    as booleans and the JSON attributes (Policy, RedrivePolicy, RedriveAllowPolicy) parsed. A
    queue without a RedrivePolicy also gets `DeadLetterSourceQueues` (one call, only for those),
    so that a queue serving as another queue's dead-letter queue is known as one."""

    service = "sqs"
    list_operation = "list_queues"
    list_key = "QueueUrls"
    list_wrap = "QueueUrl"
    page_size_limits = (1, 1000)
    id_template = "{QueueName}"
    name_template = "{QueueName}"
    arn = "arn:aws:sqs:{region}:{account}:{QueueName}"
    details = (
        Detail(
            "get_queue_attributes", {"QueueUrl": Ref("QueueUrl"), "AttributeNames": ["All"]}, "Attributes", "Attributes"
        ),
        Detail("list_queue_tags", {"QueueUrl": Ref("QueueUrl")}, "Tags", "Tags"),
        Detail(
            "list_dead_letter_source_queues",
            {"QueueUrl": Ref("QueueUrl"), "MaxResults": 1},  # one source queue is enough to know
            "DeadLetterSourceQueues",
            "queueUrls",
            when=_without_redrive_policy,
            after=True,
        ),
    )
    volatile = (
        "Attributes.ApproximateNumberOfMessages",
        "Attributes.ApproximateNumberOfMessagesDelayed",
        "Attributes.ApproximateNumberOfMessagesNotVisible",
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["QueueName"] = item["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        attributes = item.get("Attributes") or {}
        for key, value in attributes.items():
            if value in ("true", "false"):
                attributes[key] = value == "true"
        if "Policy" in attributes:
            attributes["Policy"] = policy_document(attributes["Policy"])
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if isinstance(attributes.get(key), str):
                try:
                    attributes[key] = json.loads(attributes[key])
                except ValueError:
                    pass  # kept as text: a policy reading its fields finds none
        return item
