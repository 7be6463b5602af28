"""CloudTrail: trails with their status and event selectors."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref
from shared.inventory.collectors.base import resource_types


@resource_types.register("aws.cloudtrail.trail")
class CloudTrailTrail(AwsResource):
    service = "cloudtrail"
    list_operation = "describe_trails"
    list_key = "trailList"
    # Only trails whose home is this region: a multi-region trail is otherwise listed in every region.
    list_params = {"includeShadowTrails": False}
    paging = None
    page_size_param = None
    id_template = "{Name}"
    name_template = "{Name}"
    arn = "{TrailARN}"
    arn_prefix = "arn:aws:cloudtrail:"
    details = (
        Detail("get_trail_status", {"Name": Ref("TrailARN")}, "Status"),
        Detail("get_event_selectors", {"TrailName": Ref("TrailARN")}, "Selectors"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for key in ("Status", "Selectors"):
            if isinstance(item.get(key), dict):
                item[key].pop("TrailARN", None)
        return item
