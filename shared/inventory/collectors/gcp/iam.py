"""IAM: service accounts and their keys (with their age)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource, short_id
from shared.inventory.collectors.gcp.shaping import days_since


@resource_types.register("gcp.iam.service-account")
class IamServiceAccount(GcpResource):
    asset_type = "iam.googleapis.com/ServiceAccount"
    name_field = "email"
    volatile = ("etag",)


@resource_types.register("gcp.iam.service-account-key")
class IamServiceAccountKey(GcpResource):
    """A key's `validAfterTime` is when it was created (IAM v1 ServiceAccountKey): `ageDays`, the
    whole days since then, is derived for the rotation check."""

    asset_type = "iam.googleapis.com/ServiceAccountKey"
    volatile = ("ageDays",)  # a count from today, not configuration
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, document: dict, now: datetime | None = None) -> dict:
        age = days_since(document.get("validAfterTime"), now or datetime.now(UTC))
        if age is not None:
            document["ageDays"] = age
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        # projects/P/serviceAccounts/EMAIL/keys/ID -> EMAIL/ID: a key id alone says nothing to a reader.
        parts = str(document.get("name", "")).split("/")
        return f"{parts[3]}/{parts[5]}" if len(parts) == 6 else short_id(asset_name)
