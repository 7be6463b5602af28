"""SQL: managed instances."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.sql.managed-instance")
class SqlManagedInstance(AzureResource):
    """Resource Graph carries the instance body (public data endpoint, minimal TLS version)."""

    native_type = "microsoft.sql/managedinstances"
    volatile = ("properties.provisioningState", "properties.state")
