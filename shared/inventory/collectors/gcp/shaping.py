"""Shaping helpers for GCP documents: older Cloud Asset Inventory field spellings renamed to the
current ones, and firewall rules evaluated the way the VPC firewall does."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from shared.platform.ports import ALL_PORTS, port_intervals, without

INTERNET = {4: "0.0.0.0/0", 6: "::/0"}
PORTED = ("tcp", "udp", "sctp")  # the protocols whose rules may name ports
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "132": "sctp", "1": "icmp", "50": "esp", "51": "ah", "58": "ipv6-icmp"}
# Default priority of a firewall rule when the field is absent (Compute Engine API v1).
DEFAULT_PRIORITY = 1000


def renamed(document: Any, renames: dict[str, str]) -> None:
    """Rename keys in place: `old` -> `new` where only the old spelling is present. A key of the form
    "a.b" renames within the object at `a` (lists of objects: each element)."""
    for old, new in renames.items():
        path, _, leaf = old.rpartition(".")
        for holder in _objects_at(document, path.split(".") if path else []):
            if leaf in holder and new not in holder:
                holder[new] = holder.pop(leaf)


def _objects_at(value: Any, path: list[str]) -> list[dict]:
    if isinstance(value, list):
        return [found for item in value for found in _objects_at(item, path)]
    if not isinstance(value, dict):
        return []
    if not path:
        return [value]
    return _objects_at(value.get(path[0]), path[1:])


def _network(rule: dict) -> str:
    """projects/P/global/networks/N of a rule's network URL (full or partial)."""
    network = str(rule.get("network") or "")
    return network[network.find("projects/") :] if "projects/" in network else network


def _enabled_ingress(rule: dict) -> bool:
    return rule.get("direction", "INGRESS") != "EGRESS" and rule.get("disabled") is not True


def _internet_families(rule: dict) -> set[int]:
    """The IP versions (4, 6) for which the rule's source is the whole internet."""
    families = set()
    for cidr in rule.get("sourceRanges") or []:
        try:
            network = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            continue
        if network.prefixlen == 0:
            families.add(network.version)
    return families


def _protocol(entry: dict) -> str:
    name = str(entry.get("IPProtocol", "")).lower()
    return PROTOCOL_NUMBERS.get(name, name)


def _ranges(ports: Any) -> list[tuple[int, int]]:
    """["22", "8000-8080"] as intervals; no ports at all means every port."""
    return port_intervals(ports) if ports else [ALL_PORTS]


def _admitted(entries: list[dict]) -> dict[str, list[tuple[int, int]]]:
    """Protocol -> port intervals of an allowed or denied list ("all" covers every protocol)."""
    admitted: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        protocol = _protocol(entry)
        if protocol == "all":
            for name in (*PORTED, "all"):
                admitted[name] = [ALL_PORTS]
            continue
        ports = _ranges(entry.get("ports")) if protocol in PORTED else [ALL_PORTS]
        admitted[protocol] = admitted.get(protocol, []) + ports
    return admitted


def _covers_targets(deny: dict, allow: dict) -> bool:
    """Whether the deny applies to every instance the allow applies to: a deny without targets
    applies to every instance of the network; one with tags or service accounts only to those."""
    deny_tags, deny_accounts = deny.get("targetTags") or [], deny.get("targetServiceAccounts") or []
    if not deny_tags and not deny_accounts:
        return True
    allow_tags, allow_accounts = allow.get("targetTags") or [], allow.get("targetServiceAccounts") or []
    if allow_tags:
        return set(allow_tags) <= set(deny_tags)
    if allow_accounts:
        return set(allow_accounts) <= set(deny_accounts)
    return False


def _shadows(deny: dict, allow: dict) -> bool:
    """A deny rule comes first (a lower priority number; at equal priority, deny wins)."""
    deny_priority = deny.get("priority", DEFAULT_PRIORITY)
    allow_priority = allow.get("priority", DEFAULT_PRIORITY)
    return (
        deny is not allow
        and bool(deny.get("denied"))
        and _enabled_ingress(deny)
        and _network(deny) == _network(allow)
        and deny_priority <= allow_priority
        and _covers_targets(deny, allow)
    )


def internet_ingress(rule: dict, rules: list[dict]) -> list[dict]:
    """What the rule admits from the whole internet (0.0.0.0/0 or ::/0) once the VPC firewall has
    evaluated it among the rules of its network: enabled ingress allow rules only, minus whatever
    an enabled ingress deny rule of the same network and targets takes first. One entry per
    protocol: {"IPProtocol": "tcp", "ports": ["0-21", "23-65535"]} (ports only for tcp, udp, sctp)."""
    if not _enabled_ingress(rule) or not rule.get("allowed"):
        return []
    open_by_protocol: dict[str, list[tuple[int, int]]] = {}
    for family in _internet_families(rule):
        admitted = _admitted(rule["allowed"])
        for deny in rules:
            if _shadows(deny, rule) and family in _internet_families(deny):
                for protocol, ports in _admitted(deny["denied"]).items():
                    if protocol == "all":
                        admitted = {name: [] for name in admitted}
                    elif protocol in admitted:
                        admitted[protocol] = without(admitted[protocol], ports)
        for protocol, ports in admitted.items():
            merged = open_by_protocol.setdefault(protocol, [])
            merged.extend(port for port in ports if port not in merged)
    entries = []
    for protocol, ports in sorted(open_by_protocol.items()):
        if not ports:
            continue
        entry: dict[str, Any] = {"IPProtocol": protocol}
        if protocol in PORTED:
            entry["ports"] = [f"{low}-{high}" if low != high else str(low) for low, high in sorted(ports)]
        entries.append(entry)
    return entries


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(key) if isinstance(key, str) else key: _camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def json_names(asset: Any) -> Any:
    """An asset in the JSON field names (assetType, iamPolicy, updateTime, discoveryDocumentUri):
    `gcloud asset export` writes the protobuf names (asset_type, iam_policy, ...) everywhere but in
    `resource.data`, a Struct whose keys are the service's own REST names and are kept as they are."""
    if not isinstance(asset, dict):
        return asset
    resource = asset.get("resource")
    data = resource.get("data") if isinstance(resource, dict) else None
    shaped = _camel_keys({key: value for key, value in asset.items() if key != "resource"})
    if isinstance(resource, dict):
        shaped["resource"] = {
            **_camel_keys({key: value for key, value in resource.items() if key != "data"}),
            **({"data": data} if "data" in resource else {}),
        }
    elif "resource" in asset:
        shaped["resource"] = resource
    return shaped


def is_asset(item: Any) -> bool:
    """Whether a JSON object is a Cloud Asset Inventory asset (either spelling), not a Resource Graph row."""
    return isinstance(item, dict) and "name" in item and ("assetType" in item or "asset_type" in item)


def days_since(timestamp: object, now: datetime) -> int | None:
    """Whole days since an RFC 3339 timestamp ("2024-01-02T03:04:05.123456Z"); None when unreadable."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0, (now - at).days)
