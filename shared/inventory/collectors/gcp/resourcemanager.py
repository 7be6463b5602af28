"""Resource Manager: projects (with their log sinks attached) and project IAM policies."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import PROJECT_ASSET_TYPE, GcpIamPolicy, GcpResource


@resource_types.register("gcp.resourcemanager.project")
class Project(GcpResource):
    asset_type = PROJECT_ASSET_TYPE
    name_field = "projectId"
    related = {"logSinks": "logging.googleapis.com/LogSink"}


@resource_types.register("gcp.resourcemanager.project-iam-policy")
class ProjectIamPolicy(GcpIamPolicy):
    asset_type = PROJECT_ASSET_TYPE

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str | None) -> str:
        # The asset name carries the project number; people know the project id, when the upload has it.
        return project or asset_name.rsplit("/", 1)[-1]
