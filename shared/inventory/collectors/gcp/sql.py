"""Cloud SQL: instances (every engine), with their settings and database flags."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.sql.instance")
class SqlInstance(GcpResource):
    asset_type = "sqladmin.googleapis.com/Instance"
    volatile = ("state", "etag", "serverCaCert")
