"""Azure Databricks: workspaces."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.databricks.workspace")
class DatabricksWorkspace(AzureResource):
    """Resource Graph carries the workspace body (public network access, network parameters)."""

    native_type = "microsoft.databricks/workspaces"
    volatile = ("properties.provisioningState", "properties.updatedBy")
