"""Cloud DNS: managed zones (DNSSEC) and DNS server policies (query logging)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.dns.managed-zone")
class DnsManagedZone(GcpResource):
    asset_type = "dns.googleapis.com/ManagedZone"


@resource_types.register("gcp.dns.policy")
class DnsPolicy(GcpResource):
    asset_type = "dns.googleapis.com/Policy"
