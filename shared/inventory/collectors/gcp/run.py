"""Cloud Run: services (ingress) and their IAM policies (who may invoke them)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpIamPolicy, GcpResource

INGRESS_ANNOTATION = "run.googleapis.com/ingress"
# Cloud Run Admin API v2 enum -> the v1 (Knative) annotation value.
V2_INGRESS = {
    "INGRESS_TRAFFIC_ALL": "all",
    "INGRESS_TRAFFIC_INTERNAL_ONLY": "internal",
    "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": "internal-and-cloud-load-balancing",
}


def _service_name(document: dict) -> str | None:
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else document.get("name")
    return name.rsplit("/", 1)[-1] if isinstance(name, str) and name else None


@resource_types.register("gcp.run.service")
class RunService(GcpResource):
    """Cloud Asset Inventory gives the Knative (v1) Service: settings live in annotations whose keys
    hold dots and slashes, which a policy's key path cannot name. Shaping lifts the ingress setting
    to `ingress` (v1 annotation values; a v2 `ingress` enum is mapped to them)."""

    asset_type = "run.googleapis.com/Service"
    volatile = ("status",)

    @classmethod
    def normalise(cls, document: dict) -> dict:
        metadata = document.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if isinstance(annotations, dict) and isinstance(annotations.get(INGRESS_ANNOTATION), str):
            document["ingress"] = annotations[INGRESS_ANNOTATION]
        elif isinstance(document.get("ingress"), str):
            document["ingress"] = V2_INGRESS.get(document["ingress"], document["ingress"])
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return _service_name(document) or super().display_name(document, asset_name, project)


@resource_types.register("gcp.run.service-iam-policy")
class RunServiceIamPolicy(GcpIamPolicy):
    asset_type = "run.googleapis.com/Service"
