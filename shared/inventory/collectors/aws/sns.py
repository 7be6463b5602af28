"""SNS: topics with their attributes, and subscriptions."""

from __future__ import annotations

import re
from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("sns:ListTopics", "sns", "list_topics")

# The user-info part of an HTTP(S) endpoint: SNS accepts basic-auth credentials in the URL.
CREDENTIALS = re.compile(r"^(https?://[^:/@]+):[^@/]*@", re.IGNORECASE)


@resource_types.register("aws.sns.topic")
class SnsTopic(AwsResource):
    """Topics with GetTopicAttributes' answer as `Attributes`; the access policy (`Attributes.Policy`)
    parsed into a document."""

    service = "sns"
    list_operation = "list_topics"
    list_key = "Topics"
    page_size_param = None  # ListTopics pages by 100 and takes no page size
    id_template = "{TopicName}"
    name_template = "{TopicName}"
    arn = "{TopicArn}"
    arn_prefix = "arn:aws:sns:"
    details = (
        Detail("get_topic_attributes", {"TopicArn": Ref("TopicArn")}, "Attributes", "Attributes"),
        Detail("list_tags_for_resource", {"ResourceArn": Ref("TopicArn")}, "Tags", "Tags"),
    )
    volatile = (
        "Attributes.SubscriptionsConfirmed",
        "Attributes.SubscriptionsPending",
        "Attributes.SubscriptionsDeleted",
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["TopicName"] = str(item.get("TopicArn", "")).rsplit(":", 1)[-1]
        attributes = item.get("Attributes")
        if isinstance(attributes, dict) and attributes.get("Policy"):
            attributes["Policy"] = policy_document(attributes["Policy"])
        return item


@resource_types.register("aws.sns.subscription")
class SnsSubscription(AwsResource):
    """Confirmed subscriptions of the region's topics. One awaiting confirmation has no ARN (its
    SubscriptionArn is "PendingConfirmation") and receives no messages yet: it is not listed."""

    service = "sns"
    list_operation = "list_subscriptions"
    list_key = "Subscriptions"
    page_size_param = None  # ListSubscriptions pages by 100 and takes no page size
    id_template = "{SubscriptionArn}"
    name_template = "{TopicName}:{Protocol}:{Endpoint}"
    arn = "{SubscriptionArn}"
    arn_prefix = "arn:aws:sns:"
    skip_when = staticmethod(lambda item: not str(item.get("SubscriptionArn", "")).startswith("arn:"))

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["TopicName"] = str(item.get("TopicArn", "")).rsplit(":", 1)[-1]
        # Basic-auth passwords in an endpoint URL are secrets: the document keeps the user name only.
        if isinstance(item.get("Endpoint"), str):
            item["Endpoint"] = CREDENTIALS.sub(r"\1:****@", item["Endpoint"])
        return item
