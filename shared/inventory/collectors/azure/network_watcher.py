"""Network Watcher: NSG and virtual network flow logs."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.network.flow-log")
class FlowLog(AzureResource):
    """Resource Graph lists flow logs as children of their network watcher
    (microsoft.network/networkwatchers/flowlogs) with the full body: target, retention, analytics."""

    native_type = "microsoft.network/networkwatchers/flowlogs"
