"""S3: buckets."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import HOME_REGION, AwsResource, Detail, Ref
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types


@resource_types.register("aws.s3.bucket")
class S3Bucket(AwsResource):
    service = "s3"
    global_service = True
    list_operation = "list_buckets"
    list_key = "Buckets"
    paging = None
    page_size_param = None
    id_template = "{Name}"
    arn = "arn:aws:s3:::{Name}"
    details = (
        Detail("get_bucket_location", {"Bucket": Ref("Name")}, "LocationConstraint", "LocationConstraint"),
        Detail(
            "get_bucket_encryption",
            {"Bucket": Ref("Name")},
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionConfiguration",
            missing_codes=("ServerSideEncryptionConfigurationNotFoundError",),
        ),
        Detail(
            "get_public_access_block",
            {"Bucket": Ref("Name")},
            "PublicAccessBlockConfiguration",
            "PublicAccessBlockConfiguration",
            missing_codes=("NoSuchPublicAccessBlockConfiguration",),
        ),
        Detail("get_bucket_versioning", {"Bucket": Ref("Name")}, "Versioning"),
        Detail("get_bucket_policy", {"Bucket": Ref("Name")}, "Policy", "Policy", missing_codes=("NoSuchBucketPolicy",)),
        Detail("get_bucket_acl", {"Bucket": Ref("Name")}, "Acl"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return item.get("LocationConstraint") or HOME_REGION
