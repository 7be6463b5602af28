"""Cloud Functions: functions (ingress, HTTPS, identity) and their IAM policies."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpIamPolicy, GcpResource, short_id


@resource_types.register("gcp.cloudfunctions.function")
class CloudFunction(GcpResource):
    # The 1st-gen asset type; Cloud Asset Inventory gives the v1 CloudFunction resource.
    asset_type = "cloudfunctions.googleapis.com/CloudFunction"
    volatile = ("status", "updateTime", "versionId", "buildId")

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        # name is projects/P/locations/L/functions/F: the function's own name is enough for a reader.
        return short_id(str(document.get("name") or asset_name))


@resource_types.register("gcp.cloudfunctions.function-iam-policy")
class CloudFunctionIamPolicy(GcpIamPolicy):
    asset_type = "cloudfunctions.googleapis.com/CloudFunction"
