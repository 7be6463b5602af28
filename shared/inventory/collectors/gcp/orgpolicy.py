"""Organization Policy: the policies set on a project (one per constraint)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource, short_id


@resource_types.register("gcp.orgpolicy.policy")
class OrgPolicy(GcpResource):
    """An Organization Policy v2 Policy; its name (projects/P/policies/CONSTRAINT) says which
    constraint it sets, lifted to `constraint` so a policy can name constraints directly."""

    asset_type = "orgpolicy.googleapis.com/Policy"
    volatile = ("etag", "spec.etag", "spec.updateTime")

    @classmethod
    def normalise(cls, document: dict) -> dict:
        name = document.get("name")
        if isinstance(name, str) and "/policies/" in name:
            document["constraint"] = name.rsplit("/policies/", 1)[1]
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return str(document.get("constraint") or short_id(asset_name))
