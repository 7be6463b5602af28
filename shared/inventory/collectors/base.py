"""What every collector shares: a collected resource and its configuration hash, typed collection
errors (recorded per shard, never read as "no resources"), the Collector protocol, and the
registries of resource types and collectors (filled by collectors.providers)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.platform.registry import Registry

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
        states); `volatile` names them as top-level keys or dotted paths such as `properties.x`,
        where a `*` step goes into every element of a list (`AccessKeys.*.AgeDays`)."""
        stable = self.document
        for path in self.volatile:
            stable = _without(stable, path.split("."))
        return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def _without(node: Any, steps: list[str]) -> Any:
    """The node without the field at `steps`; only the dicts and lists on the path are copied, so
    the document stays as it is. A path that does not fit the document (a missing key, a `*` on
    something other than a list) leaves it whole."""
    step, rest = steps[0], steps[1:]
    if step == "*":
        if not isinstance(node, list) or not rest:
            return node
        return [_without(element, rest) for element in node]
    if not isinstance(node, dict) or step not in node:
        return node
    copy = dict(node)
    if rest:
        copy[step] = _without(node[step], rest)
    else:
        del copy[step]
    return copy


def jsonable(value: Any) -> Any:
    """The document as JSON types: timestamps become ISO strings, bytes and sets are converted, and
    NUL characters (which PostgreSQL's jsonb cannot hold) become U+FFFD."""
    if isinstance(value, dict):
        return {_text(str(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return _text(value.decode("utf-8", "replace"))
    return _text(str(value))


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


# An error code as a provider writes it (AccessDenied, AuthorizationFailed, PERMISSION_DENIED); a
# "code" that is not such a token is not recorded: an endpoint's answer never reaches a tenant.
CODE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
DENIED = ("denied", "unauthorized", "forbidden", "authorization", "permission")


def peer_code(code: Any, status: int | None) -> str:
    """The provider's error code when it is a plain token, else the HTTP status as one."""
    if isinstance(code, str) and CODE_TOKEN.fullmatch(code):
        return code
    return f"HTTP{status}" if status else "UnknownError"


# What a verify() check says for the checks it did not run after the endpoint gave no connection.
NOT_CHECKED_UNREACHABLE = "Not checked: the endpoint could not be reached"


def unreachable(code: str, url: str) -> str:
    """Our sentence for a verification that got no connection: the host and port it tried, so a
    caller fixes the endpoint (or the network) rather than the credentials, which were never sent."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    port = parts.port or (80 if parts.scheme == "http" else 443)
    return (
        f"{code}: the endpoint {parts.hostname}:{port} could not be reached (no connection), so the "
        "credentials were not tried; check the account's endpoint_url and that the service there is up"
    )


def refusal(what: str, code: str, status: int | None) -> str:
    """Our sentence for a refused call: what was asked, the status and the code, never the body
    of the answer (an allow-listed endpoint could be an internal service a tenant wants to read)."""
    sentence = f"{what} failed: HTTP {status or 'error'} {code}"
    if status in (401, 403) or any(word in code.lower() for word in DENIED):
        sentence += "; the credentials do not have permission for it"
    return sentence


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


class Stopped(Exception):
    """The scan asked its shard to stop (cancelled, out of time) in the middle of a listing."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def never_stop() -> str | None:
    return None


class Collector(Protocol):
    """What a shard needs from a provider's collector. A shard sets `stop_reason` (a cheap callable:
    "cancelled", "timed_out" or None), which collectors ask before every cloud call and back-off,
    raising Stopped, so a cancelled scan frees its worker within a call, not a page."""

    stop_reason: Callable[[], str | None]

    def regions(self) -> list[str]: ...

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]: ...


# Every resource type of every provider, by canonical name such as `aws.s3.bucket`.
resource_types: Registry[type] = Registry("resource type")
# Collector factories by provider: factory(account, credentials, settings) -> Collector.
# Each also offers verify() -> [{check, ok, message}] for POST /v1/accounts/<id>/verify.
collectors: Registry[Any] = Registry("collector")
