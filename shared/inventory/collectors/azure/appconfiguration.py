"""App Configuration: configuration stores."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.appconfiguration.store")
class ConfigurationStore(AzureResource):
    """Resource Graph carries the store body (local auth, public network access, private endpoints)."""

    native_type = "microsoft.appconfiguration/configurationstores"
