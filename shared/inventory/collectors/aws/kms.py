"""KMS: customer-managed keys with their rotation status and key policy."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, field_equals, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("kms:ListKeys", "kms", "list_keys", {"Limit": 1})


@resource_types.register("aws.kms.key")
class KmsKey(AwsResource):
    """Customer-managed keys; AWS-managed keys are rotated by AWS and are not the account's to fix."""

    service = "kms"
    list_operation = "list_keys"
    list_key = "Keys"
    paging = ("Marker", "NextMarker")
    page_size_param = "Limit"
    id_template = "{KeyId}"
    arn = "{KeyArn}"
    arn_prefix = "arn:aws:kms:"
    details = (
        Detail("describe_key", {"KeyId": Ref("KeyId")}, "KeyMetadata", "KeyMetadata"),
        Detail(
            "get_key_rotation_status",
            {"KeyId": Ref("KeyId")},
            "KeyRotationEnabled",
            "KeyRotationEnabled",
            # Asymmetric, HMAC and pending-deletion keys have no rotation status.
            missing_codes=("UnsupportedOperationException", "KMSInvalidStateException"),
            when=field_equals("KeyMetadata.KeyManager", "CUSTOMER"),
            after=True,  # reads describe_key's answer
        ),
        Detail(
            "get_key_policy",
            {"KeyId": Ref("KeyId"), "PolicyName": "default"},  # "default" is the only name a key policy has
            "Policy",
            "Policy",
            when=field_equals("KeyMetadata.KeyManager", "CUSTOMER"),
        ),
        Detail(
            "list_resource_tags",
            {"KeyId": Ref("KeyId")},
            "Tags",
            "Tags",
            when=field_equals("KeyMetadata.KeyManager", "CUSTOMER"),
        ),
    )
    skip_when = staticmethod(field_equals("KeyMetadata.KeyManager", "AWS"))

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item
