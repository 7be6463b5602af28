"""Cloud Logging: log sinks."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.logging.sink")
class LoggingSink(GcpResource):
    asset_type = "logging.googleapis.com/LogSink"
    volatile = ("updateTime",)
