"""SQL: logical servers (with auditing and firewall rules) and their databases (with TDE)."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.sql.server")
class SqlServer(AzureResource):
    """The Entra administrator and public network access are in the Resource Graph row; auditing is
    read from GET {server}/auditingSettings/default and the firewall from GET {server}/firewallRules
    (API 2021-11-01), which Resource Graph does not index."""

    native_type = "microsoft.sql/servers"
    details = (
        Detail("auditingSettings/default", "2021-11-01", "auditingSettings"),
        Detail("firewallRules", "2021-11-01", "firewallRules", many=True),
    )
    volatile = ("properties.state",)


@resource_types.register("azure.sql.database")
class SqlDatabase(AzureResource):
    """Transparent data encryption is read from GET {database}/transparentDataEncryption/current
    (API 2021-11-01), which Resource Graph does not index."""

    native_type = "microsoft.sql/servers/databases"
    details = (Detail("transparentDataEncryption/current", "2021-11-01", "transparentDataEncryption"),)
    volatile = (
        "properties.status",
        "properties.earliestRestoreDate",
        "properties.pausedDate",
        "properties.resumedDate",
    )

    @classmethod
    def normalise(cls, row: dict) -> dict:
        # API 2014-04-01 answered TDE as `status`; 2021-11-01 answers `state`: policies read `state`.
        tde = row.get("transparentDataEncryption")
        if isinstance(tde, dict) and "state" not in tde and "status" in tde:
            tde["state"] = tde.pop("status")
        return row
