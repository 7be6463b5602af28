"""Kinesis Data Streams: streams with their encryption."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("kinesis:ListStreams", "kinesis", "list_streams", {"Limit": 1})


@resource_types.register("aws.kinesis.stream")
class KinesisStream(AwsResource):
    """The listing's StreamSummaries completed by DescribeStreamSummary (encryption, retention)."""

    service = "kinesis"
    list_operation = "list_streams"
    list_key = "StreamSummaries"
    page_size_param = "Limit"
    page_size_limits = (1, 10000)
    id_template = "{StreamName}"
    name_template = "{StreamName}"
    arn = "{StreamARN}"
    arn_prefix = "arn:aws:kinesis:"
    details = (
        Detail(
            "describe_stream_summary",
            {"StreamName": Ref("StreamName")},
            "StreamDescriptionSummary",
            "StreamDescriptionSummary",
        ),
        Detail("list_tags_for_stream", {"StreamName": Ref("StreamName")}, "Tags", "Tags"),
    )
    volatile = ("StreamStatus", "OpenShardCount", "ConsumerCount")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item.update(item.pop("StreamDescriptionSummary", None) or {})
        return item
