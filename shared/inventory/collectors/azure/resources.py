"""Resources: the subscription itself (a ResourceContainers row), with its activity log alerts,
activity log diagnostic settings and Defender for Cloud security contacts."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.resources.subscription")
class Subscription(AzureResource):
    """Resource Graph does not attach these to the subscription; each is a GET under its id:
    providers/Microsoft.Insights/activityLogAlerts (API 2020-10-01, paged by nextLink),
    providers/Microsoft.Insights/diagnosticSettings (2021-05-01-preview: where the activity log is
    sent, and which categories) and providers/Microsoft.Security/securityContacts
    (2020-01-01-preview: who Defender for Cloud e-mails, and for which alerts)."""

    table = "ResourceContainers"
    native_type = "microsoft.resources/subscriptions"
    # CIS 2.1 and 5 ask questions of the subscription: attach the answers to it, so a policy can say so.
    details = (
        Detail("providers/Microsoft.Insights/activityLogAlerts", "2020-10-01", "activityLogAlerts", many=True),
        Detail(
            "providers/Microsoft.Insights/diagnosticSettings", "2021-05-01-preview", "diagnosticSettings", many=True
        ),
        Detail("providers/Microsoft.Security/securityContacts", "2020-01-01-preview", "securityContacts", many=True),
    )
    volatile = ("properties.state",)
