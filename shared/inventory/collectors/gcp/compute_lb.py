"""Compute Engine load balancing: SSL policies, target HTTPS proxies and backend services."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.compute.ssl-policy")
class ComputeSslPolicy(GcpResource):
    asset_type = "compute.googleapis.com/SslPolicy"
    volatile = ("fingerprint",)


@resource_types.register("gcp.compute.target-https-proxy")
class ComputeTargetHttpsProxy(GcpResource):
    asset_type = "compute.googleapis.com/TargetHttpsProxy"
    volatile = ("fingerprint",)


@resource_types.register("gcp.compute.backend-service")
class ComputeBackendService(GcpResource):
    asset_type = "compute.googleapis.com/BackendService"
    volatile = ("fingerprint",)
