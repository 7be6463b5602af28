"""Secrets Manager: secrets, with their rotation and last use counted in days."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, probe
from shared.inventory.collectors.aws.shaping import days_since
from shared.inventory.collectors.base import resource_types

probe("secretsmanager:ListSecrets", "secretsmanager", "list_secrets", {"MaxResults": 1})


@resource_types.register("aws.secretsmanager.secret")
class Secret(AwsResource):
    """ListSecrets carries everything the policies read (rotation, KMS key, last access): no
    detail call. Secrets scheduled for deletion are not listed."""

    service = "secretsmanager"
    list_operation = "list_secrets"
    list_key = "SecretList"
    page_size_limits = (1, 100)
    id_template = "{Name}"
    name_template = "{Name}"
    arn = "{ARN}"
    arn_prefix = "arn:aws:secretsmanager:"
    volatile = ("LastAccessedDate", "DaysSinceLastAccess", "DaysSinceRotation", "NextRotationDate")
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # A secret never rotated (or never read) has been so since it was created.
        item["DaysSinceRotation"] = days_since(item.get("LastRotatedDate") or item.get("CreatedDate"), now)
        item["DaysSinceLastAccess"] = days_since(item.get("LastAccessedDate") or item.get("CreatedDate"), now)
        return item
