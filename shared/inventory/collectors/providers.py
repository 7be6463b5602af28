"""Every provider's collector and resource types, registered (AWS, Azure, GCP; hybrid types and
uploads for inventory accounts): look collectors and resource types up here."""

from __future__ import annotations

from shared.inventory.collectors import hybrid  # noqa: F401  (it registers the hybrid types)
from shared.inventory.collectors.aws import engine, services  # noqa: F401  (they register the collector and types)
from shared.inventory.collectors.azure import engine as azure_engine  # noqa: F401  (it registers the collector)
from shared.inventory.collectors.azure import services as azure_services  # noqa: F401  (they register the types)
from shared.inventory.collectors.base import CollectionError, Collector, collectors, resource_types
from shared.inventory.collectors.gcp import engine as gcp_engine  # noqa: F401  (it registers the collector)
from shared.inventory.collectors.gcp import services as gcp_services  # noqa: F401  (they register the types)
from shared.inventory.collectors.uploaded import InventoryCollector
from shared.platform.outbound import BlockedDestination

__all__ = ["collector_for", "collectors", "is_global", "resource_types", "service_of", "uid_prefix"]


def is_global(resource_type: str) -> bool:
    return resource_types.get(resource_type).global_service


def service_of(resource_type: str) -> str | None:
    """The service an AWS type is called through (`aws.s3.bucket` -> `s3`): global AWS types get a
    shard per service. None for providers whose one listing serves every type (Azure Resource
    Graph, GCP Cloud Asset Inventory): their global types share a shard."""
    return getattr(resource_types.get(resource_type), "service", None)


def uid_prefix(resource_type: str) -> str | None:
    """The literal start of every uid of the type (e.g. `arn:aws:s3:::`), when there is one."""
    spec = resource_types.get(resource_type)
    return spec.uid_prefix() if hasattr(spec, "uid_prefix") else None


def collector_for(account, svc) -> Collector:
    """The collector for an account: its provider's API, or its pushed inventory when the account
    is collected from uploads (every hybrid account, and offline snapshots of cloud accounts)."""
    if account.collection == "inventory":
        return InventoryCollector(account, svc.db)
    if account.provider not in collectors:
        raise CollectionError("ProviderNotSupported", f"no collector for provider '{account.provider}'")
    if account.endpoint_url:  # checked again at every use: DNS may answer differently now
        try:
            svc.settings.outbound_guard.check_url(account.endpoint_url)
        except BlockedDestination as exc:
            raise CollectionError("EndpointNotAllowed", f"endpoint_url refused: {exc}") from None
    credentials = svc.vault.decrypt(account.credentials_encrypted)
    return collectors.get(account.provider)(account, credentials, svc.settings)
