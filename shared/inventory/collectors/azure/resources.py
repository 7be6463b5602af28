"""Resources: the subscription itself (a ResourceContainers row), with its activity log alerts."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.resources.subscription")
class Subscription(AzureResource):
    """Activity log alerts are read from GET {subscription}/providers/Microsoft.Insights/activityLogAlerts
    (API 2020-10-01, paged by nextLink), which Resource Graph does not attach to the subscription."""

    table = "ResourceContainers"
    native_type = "microsoft.resources/subscriptions"
    # CIS 5.2 asks whether alerts exist for the subscription: attach them to it, so a policy can say so.
    details = (Detail("providers/Microsoft.Insights/activityLogAlerts", "2020-10-01", "activityLogAlerts", many=True),)
    volatile = ("properties.state",)
