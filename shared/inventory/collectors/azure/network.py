"""Network: network security groups (with the ports their rules effectively open to the internet),
public IP addresses and virtual networks."""

from __future__ import annotations

from typing import Any

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types
from shared.platform.ports import ALL_PORTS, Ranges, as_specs, port_intervals, without

# Sources that stand for any internet address: a rule naming one of them applies to all internet traffic.
INTERNET_SOURCES = frozenset({"*", "internet", "any", "0.0.0.0", "0.0.0.0/0", "::/0"})
# Destinations that cover every address the NSG protects: a Deny to one of them shadows any Allow.
EVERY_DESTINATION = INTERNET_SOURCES | {"virtualnetwork"}
PROTOCOLS = ("tcp", "udp")
# The rule fields read; `az network nsg show` and older exports give them beside `name`, not under `properties`.
RULE_FIELDS = (
    "priority",
    "access",
    "direction",
    "protocol",
    "sourceAddressPrefix",
    "sourceAddressPrefixes",
    "sourcePortRange",
    "sourcePortRanges",
    "destinationAddressPrefix",
    "destinationAddressPrefixes",
    "destinationApplicationSecurityGroups",
    "destinationPortRange",
    "destinationPortRanges",
)


def _ranges(single: Any, many: Any) -> Ranges:
    """The port intervals of a rule's `...PortRange` and `...PortRanges` ("22", "20-25", "*")."""
    specs = [single] if isinstance(single, (str, int)) else []
    return port_intervals(specs + (many if isinstance(many, list) else []))


def _lower(values: Any) -> set[str]:
    return {str(value).strip().lower() for value in values if value}


class _Rule:
    """One security rule as Azure evaluates it for traffic arriving from the internet."""

    def __init__(self, rule: dict):
        nested = rule.get("properties") if isinstance(rule.get("properties"), dict) else {}
        fields = {name: nested.get(name, rule.get(name)) for name in RULE_FIELDS}
        self.priority = int(fields["priority"]) if str(fields["priority"] or "").isdigit() else 65535
        self.allow = str(fields["access"] or "").lower() == "allow"
        self.inbound = str(fields["direction"] or "").lower() == "inbound"
        protocol = str(fields["protocol"] or "").lower()
        self.protocols = set(PROTOCOLS) if protocol in ("*", "any", "") else {protocol} & set(PROTOCOLS)
        sources = _lower([fields["sourceAddressPrefix"], *(fields["sourceAddressPrefixes"] or [])])
        self.from_internet = bool(sources & INTERNET_SOURCES)
        # Left out, source ports and destinations are any (the API itself always writes them).
        source_ports = _ranges(fields["sourcePortRange"], fields["sourcePortRanges"]) or [ALL_PORTS]
        self.any_source_port = not without([ALL_PORTS], source_ports)
        destinations = _lower([fields["destinationAddressPrefix"], *(fields["destinationAddressPrefixes"] or [])])
        destinations |= _lower(group.get("id") for group in fields["destinationApplicationSecurityGroups"] or [])
        self.destinations = destinations or {"*"}
        self.ports = _ranges(fields["destinationPortRange"], fields["destinationPortRanges"])

    def shadows(self, allow: _Rule) -> bool:
        """Whether this Deny, met first, refuses all the internet traffic `allow` would let in."""
        covers = bool(self.destinations & EVERY_DESTINATION) or allow.destinations <= self.destinations
        return self.from_internet and self.any_source_port and covers


def internet_open_ports(properties: dict) -> dict[str, list[str]]:
    """Per protocol (tcp, udp), the destination ports that inbound internet traffic reaches: the
    first rule by priority that matches the traffic decides, custom and default rules alike."""
    rules = [
        _Rule(rule)
        for key in ("securityRules", "defaultSecurityRules")
        for rule in properties.get(key) or []
        if isinstance(rule, dict)
    ]
    rules = sorted((rule for rule in rules if rule.inbound), key=lambda rule: rule.priority)
    open_ports: dict[str, Ranges] = {protocol: [] for protocol in PROTOCOLS}
    for position, rule in enumerate(rules):
        if not (rule.allow and rule.from_internet):
            continue
        for protocol in rule.protocols:
            denied = [
                port
                for earlier in rules[:position]
                if not earlier.allow and protocol in earlier.protocols and earlier.shadows(rule)
                for port in earlier.ports
            ]
            open_ports[protocol] += without(rule.ports, denied)
    return {protocol: as_specs(ranges) for protocol, ranges in open_ports.items()}


@resource_types.register("azure.network.nsg")
class NetworkSecurityGroup(AzureResource):
    """Rules come in the Resource Graph row (`properties.securityRules`, `defaultSecurityRules`);
    `internetOpenPorts` is derived from them here, so policies ask one question of it."""

    native_type = "microsoft.network/networksecuritygroups"

    @classmethod
    def normalise(cls, row: dict) -> dict:
        row["internetOpenPorts"] = internet_open_ports(row.get("properties") or {})
        return row


@resource_types.register("azure.network.public-ip")
class PublicIpAddress(AzureResource):
    native_type = "microsoft.network/publicipaddresses"


@resource_types.register("azure.network.vnet")
class VirtualNetwork(AzureResource):
    native_type = "microsoft.network/virtualnetworks"
