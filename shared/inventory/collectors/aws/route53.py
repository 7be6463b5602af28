"""Route 53: hosted zones with their DNS query logging, and registered domains."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, field_equals, probe
from shared.inventory.collectors.base import resource_types

# Route 53 Domains answers in us-east-1 only, where verify() does not call a regional service:
# its listing is checked by scans, not by a probe.
probe("route53:ListHostedZones", "route53", "list_hosted_zones", {"MaxItems": "1"})
probe("route53domains:ListDomains", "route53domains", "list_domains", {"MaxItems": 1})


@resource_types.register("aws.route53.hosted-zone")
class HostedZone(AwsResource):
    """Hosted zones; public ones get `QueryLoggingConfigs` (private zones log queries through
    Route 53 Resolver instead). `HostedZoneId` is the id without its "/hostedzone/" prefix."""

    service = "route53"
    global_service = True
    list_operation = "list_hosted_zones"
    list_key = "HostedZones"
    paging = ("Marker", "NextMarker")
    page_size_param = None  # MaxItems is a string in this API; the default page is 100 zones
    id_template = "{HostedZoneId}"
    name_template = "{Name}"
    arn = "arn:aws:route53:::hostedzone/{HostedZoneId}"
    details = (
        Detail(
            "list_query_logging_configs",
            {"HostedZoneId": Ref("Id")},  # botocore strips the "/hostedzone/" prefix
            "QueryLoggingConfigs",
            "QueryLoggingConfigs",
            when=field_equals("Config.PrivateZone", False),
        ),
        Detail(
            "list_tags_for_resource",
            {"ResourceType": "hostedzone", "ResourceId": Ref("Id", tail_after="/")},
            "Tags",
            "ResourceTagSet.Tags",
        ),
    )
    volatile = ("ResourceRecordSetCount",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["HostedZoneId"] = str(item.get("Id", "")).rsplit("/", 1)[-1]
        return item


@resource_types.register("aws.route53domains.domain")
class Domain(AwsResource):
    """Domains registered through Route 53 (ListDomains carries auto-renew and transfer lock)."""

    service = "route53domains"
    global_service = True
    list_operation = "list_domains"
    list_key = "Domains"
    paging = ("Marker", "NextPageMarker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 100)
    id_template = "{DomainName}"
    name_template = "{DomainName}"
    arn = "arn:aws:route53domains::{account}:domain/{DomainName}"
