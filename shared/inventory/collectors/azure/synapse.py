"""Synapse Analytics: workspaces."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.synapse.workspace")
class SynapseWorkspace(AzureResource):
    """Resource Graph carries the workspace body (public access, managed virtual network settings,
    Entra-only authentication)."""

    native_type = "microsoft.synapse/workspaces"
