"""Pub/Sub: topics (encryption) and their IAM policies."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpIamPolicy, GcpResource, short_id


@resource_types.register("gcp.pubsub.topic")
class PubsubTopic(GcpResource):
    asset_type = "pubsub.googleapis.com/Topic"

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return short_id(str(document.get("name") or asset_name))  # projects/P/topics/T -> T


@resource_types.register("gcp.pubsub.topic-iam-policy")
class PubsubTopicIamPolicy(GcpIamPolicy):
    asset_type = "pubsub.googleapis.com/Topic"
