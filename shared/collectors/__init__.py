"""Cloud collectors: one per provider, resource types declared as data, one engine each for paging,
regions and retries. Errors are typed and recorded per shard, never read as "no resources"."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from shared.registry import Registry

GLOBAL_REGION = "global"


@dataclass(frozen=True)
class CollectedResource:
    uid: str  # globally unique: an ARN, an Azure resource id, a GCP full resource name
    id: str  # the provider's short id (bucket name, sg-..., ...)
    name: str
    resource_type: str
    region: str
    document: dict = field(repr=False)
    volatile: tuple[str, ...] = field(default=(), repr=False)

    @property
    def provider(self) -> str:
        return self.resource_type.split(".", 1)[0]

    @cached_property
    def config_hash(self) -> str:
        """Stable over fields that change without a configuration change (timestamps, power
        states); `volatile` names them as top-level keys or dotted paths such as `properties.x`."""
        stable = dict(self.document)
        for path in self.volatile:
            *parents, leaf = path.split(".")
            node: Any = stable
            for part in parents:
                child = node.get(part) if isinstance(node, dict) else None
                if not isinstance(child, dict):
                    node = None
                    break
                # Copy only the dicts on the path (the parent is a copy already): the document stays as is.
                node[part] = node = dict(child)
            if isinstance(node, dict):
                node.pop(leaf, None)
        return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def jsonable(value: Any) -> Any:
    """The document as JSON types: timestamps become ISO strings, bytes and sets are converted."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class CollectionError(Exception):
    """A listing that failed: which type, which region, the provider's error code and message."""

    def __init__(self, code: str, message: str, *, resource_type: str | None = None, region: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.resource_type = resource_type
        self.region = region

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "resource_type": self.resource_type,
            "region": self.region,
        }


class Collector(Protocol):
    """What a shard needs from a provider's collector."""

    def regions(self) -> list[str]: ...

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]: ...


# Every resource type of every provider, by canonical name such as `aws.s3.bucket`.
resource_types: Registry[type] = Registry("resource type")
# Collector factories by provider: factory(account, credentials, settings) -> Collector.
# Each also offers verify() -> [{check, ok, message}] for POST /v1/accounts/<id>/verify.
collectors: Registry[Any] = Registry("collector")


def load_providers() -> None:
    """Import the provider modules so their registrations run (explicit, not at import of this one)."""
    from shared.collectors import (
        aws,  # noqa: F401
        azure,  # noqa: F401
        gcp,  # noqa: F401
    )


def is_global(resource_type: str) -> bool:
    load_providers()
    return resource_types.get(resource_type).global_service


def uid_prefix(resource_type: str) -> str | None:
    """The literal start of every uid of the type (e.g. `arn:aws:s3:::`), when there is one."""
    load_providers()
    spec = resource_types.get(resource_type)
    return spec.uid_prefix() if hasattr(spec, "uid_prefix") else None


def collector_for(account, svc) -> Collector:
    """The collector for an account: its provider's API, or its pushed inventory when the account
    is collected from uploads (every hybrid account, and offline snapshots of cloud accounts)."""
    if account.collection == "inventory":
        from shared.collectors.inventory import InventoryCollector

        return InventoryCollector(account, svc.db)
    load_providers()
    if account.provider not in collectors:
        raise CollectionError("ProviderNotSupported", f"no collector for provider '{account.provider}'")
    if account.endpoint_url:  # checked again at every use: DNS may answer differently now
        from shared.outbound import BlockedDestination

        try:
            svc.settings.outbound_guard.check_url(account.endpoint_url)
        except BlockedDestination as exc:
            raise CollectionError("EndpointNotAllowed", f"endpoint_url refused: {exc}") from None
    credentials = svc.vault.decrypt(account.credentials_encrypted)
    return collectors.get(account.provider)(account, credentials, svc.settings)
