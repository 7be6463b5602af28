"""CloudTrail: trails with their status and event selectors, and per region every trail that records it."""

from __future__ import annotations

import re
from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("cloudtrail:DescribeTrails", "cloudtrail", "describe_trails")

# The values of an event selector's data resource that mean "every bucket, current and future".
ALL_BUCKETS = re.compile(r"^arn:aws[a-z-]*:s3(:::)?$")
READ_WRITE = {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}
# GetTrailStatus fields that move with every delivery, every few minutes, not with the configuration.
DELIVERY_TIMES = (
    "LatestDeliveryTime",
    "LatestDeliveryAttemptTime",
    "LatestDeliveryAttemptSucceeded",
    "LatestNotificationTime",
    "LatestNotificationAttemptTime",
    "LatestNotificationAttemptSucceeded",
    "LatestCloudWatchLogsDeliveryTime",
    "LatestDigestDeliveryTime",
)


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
        # The trail's bucket's server access logging (CIS 3.4), through S3. A bucket this account
        # cannot read (an organization's log archive account holds it) is left unread: no
        # `S3BucketLogging`, and the scan of the account that owns the bucket checks it.
        Detail(
            "get_bucket_logging",
            {"Bucket": Ref("S3BucketName")},
            "S3BucketLogging",
            missing_codes=("NoSuchBucket", "AccessDenied", "AllAccessDisabled"),
            service="s3",
        ),
        Detail("list_tags", {"ResourceIdList": [Ref("TrailARN")]}, "Tags", "ResourceTagList.0.TagsList"),
    )
    volatile = tuple(f"Status.{key}" for key in DELIVERY_TIMES)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for key in ("Status", "Selectors"):
            if isinstance(item.get(key), dict):
                item[key].pop("TrailARN", None)
        return item


@resource_types.register("aws.cloudtrail.account")
class CloudTrailAccount(AwsResource):
    """One pseudo-resource per region: every trail that records the region (its own trails and the
    shadows of multi-region and organization trails homed elsewhere), each with its status and
    event selectors (without the delivery times, which change every few minutes), and the names of
    the trails that meet each test: `LoggingTrails`, `MultiRegionManagementTrails`,
    `S3WriteEventTrails`, `S3ReadEventTrails`, `InsightTrails`. A region no trail records yields a
    document with an empty `trailList`, which the policies fail: an account with no trail at all
    gets a finding instead of nothing to check."""

    service = "cloudtrail"
    list_operation = "describe_trails"
    list_params = {"includeShadowTrails": True}
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:cloudtrail:{region}:{account}:trails"
    # A shadow trail's status and selectors are read with its ARN from any region it records. A
    # trail deleted between the listing and these calls is not a trail: it records nothing.
    details = (
        Detail(
            "get_trail_status",
            {"Name": Ref("TrailARN")},
            "Status",
            each="trailList",
            missing_codes=("TrailNotFoundException",),
        ),
        Detail(
            "get_event_selectors",
            {"TrailName": Ref("TrailARN")},
            "Selectors",
            each="trailList",
            missing_codes=("TrailNotFoundException",),
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        trails = [trail for trail in item.get("trailList") or [] if isinstance(trail, dict)]
        for trail in trails:
            for key in ("Status", "Selectors"):
                if isinstance(trail.get(key), dict):
                    trail[key].pop("TrailARN", None)
            # A list element cannot be named volatile: the per-trail type keeps these times.
            for key in DELIVERY_TIMES:
                (trail.get("Status") or {}).pop(key, None)
            management, s3_objects = _coverage(trail.get("Selectors") or {})
            trail["ManagementEvents"] = _read_write_type(management)
            trail["S3ObjectEvents"] = _read_write_type(s3_objects)
        logging = [trail for trail in trails if (trail.get("Status") or {}).get("IsLogging") is True]
        item["LoggingTrails"] = [trail.get("Name") for trail in logging]
        item["MultiRegionManagementTrails"] = [
            trail.get("Name")
            for trail in logging
            if trail.get("IsMultiRegionTrail") is True and trail["ManagementEvents"] == "All"
        ]
        item["S3WriteEventTrails"] = [t.get("Name") for t in logging if t["S3ObjectEvents"] in ("All", "WriteOnly")]
        item["S3ReadEventTrails"] = [t.get("Name") for t in logging if t["S3ObjectEvents"] in ("All", "ReadOnly")]
        item["InsightTrails"] = [t.get("Name") for t in logging if t.get("HasInsightSelectors") is True]
        return item


def _coverage(selectors: dict) -> tuple[set[str], set[str]]:
    """What a trail's event selectors record: of management events and of S3 object events in
    every bucket, "read" and/or "write". A trail uses basic or advanced selectors, never both."""
    management: set[str] = set()
    s3_objects: set[str] = set()
    for selector in selectors.get("EventSelectors") or []:
        # API defaults: ReadWriteType All, IncludeManagementEvents true.
        kinds = READ_WRITE.get(selector.get("ReadWriteType", "All"), set())
        if selector.get("IncludeManagementEvents", True) is True:
            management |= kinds
        for resource in selector.get("DataResources") or []:
            values = resource.get("Values") or []
            if resource.get("Type") == "AWS::S3::Object" and any(ALL_BUCKETS.match(str(v)) for v in values):
                s3_objects |= kinds
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or [] if isinstance(f, dict)}
        category = (fields.get("eventCategory") or {}).get("Equals") or []
        kinds = _advanced_read_write(fields.get("readOnly"))
        if "Management" in category:
            management |= kinds
        types = (fields.get("resources.type") or {}).get("Equals") or []
        if "Data" in category and "AWS::S3::Object" in types and _every_bucket(fields.get("resources.ARN")):
            s3_objects |= kinds
    return management, s3_objects


def _advanced_read_write(field: dict | None) -> set[str]:
    """An advanced selector without a readOnly field records reads and writes."""
    if not field:
        return {"read", "write"}
    kinds = {"true": "read", "false": "write"}
    if field.get("Equals"):
        return {kinds[v] for v in field["Equals"] if v in kinds}
    if field.get("NotEquals"):
        return {"read", "write"} - {kinds[v] for v in field["NotEquals"] if v in kinds}
    return {"read", "write"}


def _every_bucket(field: dict | None) -> bool:
    """No resources.ARN field, or one that only excludes buckets (the trail's own bucket, say),
    leaves every bucket recorded; one that includes named buckets does not."""
    if not field:
        return True
    included = [*(field.get("Equals") or []), *(field.get("StartsWith") or []), *(field.get("EndsWith") or [])]
    return all(ALL_BUCKETS.match(str(value)) for value in included)


def _read_write_type(kinds: set[str]) -> str:
    """A selector's coverage in the API's own ReadWriteType words, "None" for nothing recorded."""
    if kinds >= {"read", "write"}:
        return "All"
    return "ReadOnly" if "read" in kinds else "WriteOnly" if "write" in kinds else "None"
