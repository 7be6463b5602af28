"""PostgreSQL: flexible servers, with their require_secure_transport parameter."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.postgresql.server")
class PostgresFlexibleServer(AzureResource):
    """require_secure_transport is read from GET {server}/configurations/require_secure_transport
    (API 2022-12-01): a server parameter, which Resource Graph does not index."""

    native_type = "microsoft.dbforpostgresql/flexibleservers"
    # SSL enforcement on flexible servers is a server parameter, not a property of the server.
    details = (Detail("configurations/require_secure_transport", "2022-12-01", "requireSecureTransport"),)
    volatile = ("properties.state",)
