"""MySQL: flexible servers, with the server parameters that govern transport security."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.mysql.flexible-server")
class MySqlFlexibleServer(AzureResource):
    """Resource Graph gives the server (network, backup, high availability); TLS enforcement and the
    accepted TLS versions are server parameters, read by ARM detail GETs of
    configurations/require_secure_transport and configurations/tls_version (2023-12-30)."""

    native_type = "microsoft.dbformysql/flexibleservers"
    details = (
        Detail("configurations/require_secure_transport", "2023-12-30", "requireSecureTransport"),
        Detail("configurations/tls_version", "2023-12-30", "tlsVersion"),
    )
    volatile = (
        "properties.state",
        "properties.backup.earliestRestoreDate",
        "properties.highAvailability.state",
        "requireSecureTransport.isConfigPendingRestart",
        "tlsVersion.isConfigPendingRestart",
    )
