"""Key Vault: vaults, with the expiry of their keys and secrets and their diagnostic settings."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.keyvault.vault")
class KeyVault(AzureResource):
    """Soft delete and purge protection are in the Resource Graph row. A vault without
    enableSoftDelete (API versions before 2019-09-01 left it unset when soft delete was off) or
    enablePurgeProtection (unset until enabled) has that protection off.

    Keys and secrets are listed through ARM, GET {vault}/keys and GET {vault}/secrets (API
    2023-07-01, paged by nextLink): their attributes (enabled, exp, nbf as Unix seconds) without
    any key material or secret value, with Reader rights and no data-plane access policy. The
    vault's diagnostic settings (where its AuditEvent log goes) are GET
    {vault}/providers/Microsoft.Insights/diagnosticSettings (2021-05-01-preview)."""

    native_type = "microsoft.keyvault/vaults"
    details = (
        Detail("keys", "2023-07-01", "keys", many=True),
        Detail("secrets", "2023-07-01", "secrets", many=True),
        Detail(
            "providers/Microsoft.Insights/diagnosticSettings", "2021-05-01-preview", "diagnosticSettings", many=True
        ),
    )
