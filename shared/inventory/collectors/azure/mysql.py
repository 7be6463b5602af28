"""MySQL: flexible servers, with the server parameters that govern transport security and auditing."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.mysql.flexible-server")
class MySqlFlexibleServer(AzureResource):
    """Resource Graph gives the server (network, backup, high availability); TLS enforcement, the
    accepted TLS versions and audit logging are server parameters, read by ARM detail GETs of
    configurations/NAME (2023-12-30)."""

    native_type = "microsoft.dbformysql/flexibleservers"
    details = (
        Detail("configurations/require_secure_transport", "2023-12-30", "requireSecureTransport"),
        Detail("configurations/tls_version", "2023-12-30", "tlsVersion"),
        Detail("configurations/audit_log_enabled", "2023-12-30", "auditLogEnabled"),
        Detail("configurations/audit_log_events", "2023-12-30", "auditLogEvents"),
    )
    volatile = (
        "properties.state",
        "properties.backup.earliestRestoreDate",
        "properties.highAvailability.state",
        "requireSecureTransport.isConfigPendingRestart",
        "tlsVersion.isConfigPendingRestart",
        "auditLogEnabled.isConfigPendingRestart",
        "auditLogEvents.isConfigPendingRestart",
    )
