"""WAFv2: web ACLs (regional, and CloudFront's in us-east-1) with their rules and logging."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("wafv2:ListWebACLs", "wafv2", "list_web_acls", {"Scope": "REGIONAL", "Limit": 1})


def _details(scope: str) -> tuple[Detail, ...]:
    return (
        Detail("get_web_acl", {"Name": Ref("Name"), "Id": Ref("Id"), "Scope": scope}, "WebACL", "WebACL"),
        Detail(
            "get_logging_configuration",
            {"ResourceArn": Ref("ARN")},
            "LoggingConfiguration",
            "LoggingConfiguration",
            missing_codes=("WAFNonexistentItemException",),  # logging not configured
        ),
        Detail("list_tags_for_resource", {"ResourceARN": Ref("ARN")}, "Tags", "TagInfoForResource.TagList"),
    )


class _WebAcl(AwsResource):
    """`WebACL` is GetWebACL's web ACL (rules, visibility settings); `LoggingConfiguration` is
    absent when the web ACL has no logging configuration."""

    service = "wafv2"
    list_operation = "list_web_acls"
    list_key = "WebACLs"
    paging = ("NextMarker", "NextMarker")
    page_size_param = "Limit"
    page_size_limits = (1, 100)
    id_template = "{Id}"
    name_template = "{Name}"
    arn = "{ARN}"
    arn_prefix = "arn:aws:wafv2:"
    volatile = ("LockToken",)


@resource_types.register("aws.wafv2.web-acl")
class RegionalWebAcl(_WebAcl):
    """Web ACLs of a region (for load balancers, API Gateway stages, AppSync, Cognito...)."""

    list_params = {"Scope": "REGIONAL"}
    details = _details("REGIONAL")


@resource_types.register("aws.wafv2.cloudfront-web-acl")
class CloudFrontWebAcl(_WebAcl):
    """Web ACLs for CloudFront distributions: global, listed with scope CLOUDFRONT in us-east-1."""

    global_service = True
    list_params = {"Scope": "CLOUDFRONT"}
    details = _details("CLOUDFRONT")
