"""S3 Control: the account's Block Public Access settings and the S3 access points of each region.

Every S3 Control call names the account (AccountId), which a probe's constant parameters cannot:
this module declares no probe. A role without s3:GetAccountPublicAccessBlock or
s3:ListAccessPoint shows up as a denied listing of these types instead of in verify()."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref
from shared.inventory.collectors.base import resource_types


@resource_types.register("aws.s3.account-public-access-block")
class S3AccountPublicAccessBlock(AwsResource):
    """One pseudo-resource per account: the Block Public Access settings that apply to every bucket.
    An account that never set them has none (NoSuchPublicAccessBlockConfiguration): the document
    is then empty, which the policy fails."""

    service = "s3control"
    global_service = True
    list_operation = "get_public_access_block"
    list_params = {"AccountId": Ref("account")}
    singleton = True
    paging = None
    page_size_param = None
    missing_codes = ("NoSuchPublicAccessBlockConfiguration",)
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:s3::{account}:account-public-access-block"


@resource_types.register("aws.s3.access-point")
class S3AccessPoint(AwsResource):
    """Access points of general purpose buckets in the region, with their own Block Public Access
    settings (only GetAccessPoint returns them)."""

    service = "s3control"
    list_operation = "list_access_points"
    list_key = "AccessPointList"
    list_params = {"AccountId": Ref("account")}
    page_size_limits = (1, 1000)
    id_template = "{Name}"
    name_template = "{Name}"
    arn = "{AccessPointArn}"
    arn_prefix = "arn:aws:s3:"
    details = (
        Detail(
            "get_access_point",
            {"AccountId": Ref("account"), "Name": Ref("Name")},
            "PublicAccessBlockConfiguration",
            "PublicAccessBlockConfiguration",
        ),
    )
