"""Azure AI services (Cognitive Services): accounts, Azure OpenAI included."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.cognitiveservices.account")
class CognitiveServicesAccount(AzureResource):
    """Resource Graph carries the account body (local key auth, public network access)."""

    native_type = "microsoft.cognitiveservices/accounts"
    volatile = ("properties.provisioningState", "properties.dateCreated", "properties.callRateLimit")
