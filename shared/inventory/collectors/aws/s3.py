"""S3: buckets with their access, encryption, logging, lifecycle and data-protection settings."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import HOME_REGION, AwsResource, Detail, Ref, field_equals, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("s3:ListAllMyBuckets", "s3", "list_buckets")

# Object Lock and replication both need versioning, and neither lets it be suspended once set:
# a bucket whose versioning is not Enabled has neither, so their calls are skipped for it.
_VERSIONED = field_equals("Versioning.Status", "Enabled")


def _acls_in_force(item: dict) -> bool:
    """S3 refuses BucketOwnerEnforced while the bucket ACL grants anyone but the owner, and ignores
    ACLs once it is set: the ACL of such a bucket (the default since April 2023) is not read."""
    rules = (item.get("OwnershipControls") or {}).get("Rules") or []
    return not any(rule.get("ObjectOwnership") == "BucketOwnerEnforced" for rule in rules)


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
        # No LoggingEnabled in the answer: server access logging is off.
        Detail("get_bucket_logging", {"Bucket": Ref("Name")}, "LoggingEnabled", "LoggingEnabled"),
        Detail(
            "get_bucket_lifecycle_configuration",
            {"Bucket": Ref("Name")},
            "LifecycleConfiguration",
            missing_codes=("NoSuchLifecycleConfiguration",),
        ),
        Detail(
            "get_bucket_ownership_controls",
            {"Bucket": Ref("Name")},
            "OwnershipControls",
            "OwnershipControls",
            missing_codes=("OwnershipControlsNotFoundError",),
        ),
        Detail(
            "get_object_lock_configuration",
            {"Bucket": Ref("Name")},
            "ObjectLockConfiguration",
            "ObjectLockConfiguration",
            missing_codes=("ObjectLockConfigurationNotFoundError",),
            when=_VERSIONED,
            after=True,  # this stage reads the answers of get_bucket_versioning and get_bucket_ownership_controls
        ),
        Detail(
            "get_bucket_replication",
            {"Bucket": Ref("Name")},
            "ReplicationConfiguration",
            "ReplicationConfiguration",
            missing_codes=("ReplicationConfigurationNotFoundError",),
            when=_VERSIONED,
        ),
        Detail("get_bucket_acl", {"Bucket": Ref("Name")}, "Acl", when=_acls_in_force),
        Detail("get_bucket_tagging", {"Bucket": Ref("Name")}, "TagSet", "TagSet", missing_codes=("NoSuchTagSet",)),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return item.get("LocationConstraint") or HOME_REGION
