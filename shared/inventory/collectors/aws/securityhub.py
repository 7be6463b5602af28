"""Security Hub: per region, the hub and the standards it runs."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, probe
from shared.inventory.collectors.base import resource_types

# What DescribeHub and GetEnabledStandards answer in a region where Security Hub is off.
NOT_ENABLED = ("InvalidAccessException", "ResourceNotFoundException")

probe("securityhub:DescribeHub", "securityhub", "describe_hub", not_set_up_codes=NOT_ENABLED)


@resource_types.register("aws.securityhub.hub")
class SecurityHub(AwsResource):
    """One pseudo-resource per region: DescribeHub's answer and the enabled standards
    (`StandardsSubscriptions`). A region where Security Hub is off yields an empty document, which
    the policies fail. Fewer than ten standards exist, so one GetEnabledStandards answer (up to 100)
    holds them all."""

    service = "securityhub"
    list_operation = "describe_hub"
    singleton = True
    paging = None
    page_size_param = None
    missing_codes = NOT_ENABLED
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:securityhub:{region}:{account}:hub/default"
    details = (
        Detail(
            "get_enabled_standards",
            {"MaxResults": 100},
            "StandardsSubscriptions",
            "StandardsSubscriptions",
            missing_codes=NOT_ENABLED,
            when=lambda item: bool(item.get("HubArn")),
        ),
    )
