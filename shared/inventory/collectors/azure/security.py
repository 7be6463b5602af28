"""Defender for Cloud: the pricing (plan) of each Defender plan of a subscription."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.security.pricing")
class DefenderPricing(AzureResource):
    """One row per Defender plan (VirtualMachines, SqlServers, Containers, ...), from Resource Graph's
    SecurityResources table: the same body as GET /subscriptions/ID/providers/Microsoft.Security/
    pricings/NAME (2024-01-01), so no detail GET is needed. A plan the subscription never turned on
    is still listed, with pricingTier Free."""

    table = "SecurityResources"
    native_type = "microsoft.security/pricings"
    # The trial clock and coverage summary move on their own; the tier and sub-plan are the configuration.
    volatile = ("properties.freeTrialRemainingTime", "properties.resourcesCoverageStatus")
