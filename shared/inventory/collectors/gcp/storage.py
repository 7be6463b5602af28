"""Cloud Storage: buckets and their IAM policies."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpIamPolicy, GcpResource


@resource_types.register("gcp.storage.bucket")
class StorageBucket(GcpResource):
    asset_type = "storage.googleapis.com/Bucket"
    volatile = ("updated", "etag", "metageneration")


@resource_types.register("gcp.storage.bucket-iam-policy")
class StorageBucketIamPolicy(GcpIamPolicy):
    asset_type = "storage.googleapis.com/Bucket"
