"""CloudFront: distributions, with the configuration the listing leaves out (logging, root object)."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("cloudfront:ListDistributions", "cloudfront", "list_distributions", {"MaxItems": "1"})


@resource_types.register("aws.cloudfront.distribution")
class Distribution(AwsResource):
    """The listing's DistributionSummary (origins, behaviours, certificate, web ACL) plus
    `DistributionConfig` from GetDistributionConfig, for Logging and DefaultRootObject.
    The paging token is nested (DistributionList.NextMarker) and MaxItems is a string, so pages
    are the service's default size (100 distributions)."""

    service = "cloudfront"
    global_service = True
    list_operation = "list_distributions"
    list_key = "DistributionList.Items"
    paging = ("Marker", "DistributionList.NextMarker")
    page_size_param = None
    id_template = "{Id}"
    name_template = "{Id}"
    arn = "{ARN}"
    arn_prefix = "arn:aws:cloudfront::"
    details = (
        Detail("get_distribution_config", {"Id": Ref("Id")}, "DistributionConfig", "DistributionConfig"),
        Detail("list_tags_for_resource", {"Resource": Ref("ARN")}, "Tags", "Tags.Items"),
    )
    volatile = ("Status", "LastModifiedTime", "ETag")
