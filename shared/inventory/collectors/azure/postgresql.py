"""PostgreSQL: flexible servers, with the server parameters and firewall rules CIS asks about."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types

API = "2022-12-01"
# Server parameters are not properties of the server, and Resource Graph does not index them: each
# is read by GET {server}/configurations/NAME; its `properties` (value, defaultValue, source) land
# under the key policies read.
PARAMETERS = {
    "require_secure_transport": "requireSecureTransport",
    "log_checkpoints": "logCheckpoints",
    "log_connections": "logConnections",
    "log_disconnections": "logDisconnections",
    "connection_throttle.enable": "connectionThrottling",
    "logfiles.retention_days": "logRetentionDays",
}


@resource_types.register("azure.postgresql.server")
class PostgresFlexibleServer(AzureResource):
    """Server parameters are read from GET {server}/configurations/NAME and the firewall from GET
    {server}/firewallRules (API 2022-12-01, paged by nextLink): Resource Graph indexes neither. A
    server with private access (VNet integration) answers an empty firewall rule list."""

    native_type = "microsoft.dbforpostgresql/flexibleservers"
    details = (
        *(Detail(f"configurations/{name}", API, into) for name, into in PARAMETERS.items()),
        Detail("firewallRules", API, "firewallRules", many=True),
    )
    volatile = ("properties.state", "properties.backup.earliestRestoreDate", "properties.highAvailability.state")
