"""IAM: service accounts and their keys."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource, short_id


@resource_types.register("gcp.iam.service-account")
class IamServiceAccount(GcpResource):
    asset_type = "iam.googleapis.com/ServiceAccount"
    name_field = "email"
    volatile = ("etag",)


@resource_types.register("gcp.iam.service-account-key")
class IamServiceAccountKey(GcpResource):
    asset_type = "iam.googleapis.com/ServiceAccountKey"

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        # projects/P/serviceAccounts/EMAIL/keys/ID -> EMAIL/ID: a key id alone says nothing to a reader.
        parts = str(document.get("name", "")).split("/")
        return f"{parts[3]}/{parts[5]}" if len(parts) == 6 else short_id(asset_name)
