"""Cloud KMS: crypto keys and their IAM policies."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpIamPolicy, GcpResource, seconds, short_id


def _key_ring_and_key(asset_name: str) -> str:
    """.../keyRings/RING/cryptoKeys/KEY -> RING/KEY: key names repeat across key rings."""
    parts = asset_name.split("/")
    return f"{parts[-3]}/{parts[-1]}" if len(parts) > 4 and parts[-2] == "cryptoKeys" else short_id(asset_name)


@resource_types.register("gcp.kms.crypto-key")
class KmsCryptoKey(GcpResource):
    asset_type = "cloudkms.googleapis.com/CryptoKey"
    volatile = ("nextRotationTime", "primary")

    @classmethod
    def normalise(cls, document: dict) -> dict:
        # The condition language compares numbers, not durations: expose the period in seconds.
        period = seconds(document.get("rotationPeriod"))
        if period is not None:
            document["rotationPeriodSeconds"] = period
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return _key_ring_and_key(asset_name)


@resource_types.register("gcp.kms.crypto-key-iam-policy")
class KmsCryptoKeyIamPolicy(GcpIamPolicy):
    asset_type = "cloudkms.googleapis.com/CryptoKey"

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return _key_ring_and_key(asset_name)
