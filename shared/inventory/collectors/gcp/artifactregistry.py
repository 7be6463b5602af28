"""Artifact Registry: repositories (encryption) and their IAM policies."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpIamPolicy, GcpResource, short_id


@resource_types.register("gcp.artifactregistry.repository")
class ArtifactRepository(GcpResource):
    asset_type = "artifactregistry.googleapis.com/Repository"
    volatile = ("updateTime", "sizeBytes")

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return short_id(str(document.get("name") or asset_name))  # projects/P/locations/L/repositories/R -> R


@resource_types.register("gcp.artifactregistry.repository-iam-policy")
class ArtifactRepositoryIamPolicy(GcpIamPolicy):
    asset_type = "artifactregistry.googleapis.com/Repository"
