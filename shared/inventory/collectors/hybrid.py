"""Hybrid resource types: the servers, firewalls, storage and databases of an on-premises
datacenter, pushed in our own vendor-neutral shape (`POST /v1/accounts/<id>/inventory`)."""

from __future__ import annotations

from typing import Any, ClassVar

from shared.inventory.collectors.base import resource_types
from shared.platform.ports import ALL_PORTS, Ranges, as_specs, port_intervals, without

# Sources that stand for any internet address: a rule naming one of them admits all internet traffic.
INTERNET_SOURCES = frozenset({"0.0.0.0/0", "::/0", "0.0.0.0", "*", "any", "internet"})
PROTOCOLS = ("tcp", "udp")


class HybridResource:
    """Declaration of one hybrid resource type. Hybrid accounts are collected only from uploads,
    so a type declares no listing call: only how a pushed document is shaped."""

    provider: ClassVar[str] = "hybrid"
    # An uploaded inventory is read by one shard, whatever regions (sites) its resources name.
    global_service: ClassVar[bool] = True
    # Dotted paths that change without a configuration change: not hashed.
    volatile: ClassVar[tuple[str, ...]] = ()
    # Verdicts that depend on today's date: none of the built-in hybrid policies read a date.
    clock_dependent: ClassVar[bool] = False

    @classmethod
    def uid_prefix(cls) -> str | None:
        """None: a hybrid uid is whatever the upload names the resource by, with no fixed start."""
        return None

    @classmethod
    def pushed(cls, document: dict) -> dict:
        """A pushed document as policies read it (uploads check its size and depth already)."""
        return dict(document)


@resource_types.register("hybrid.host")
class Host(HybridResource):
    """A physical server or virtual machine. Document fields:
    `hostname`; `os` {`name`, `version`, `end_of_life`: bool (the vendor no longer ships security
    updates for this release)}; `disk_encryption`: bool (every local disk encrypted at rest, e.g.
    LUKS or BitLocker); `ssh` {`password_authentication`: bool, `root_login`: bool} (left out on a
    host without an SSH server); `endpoint_protection`: bool (an anti-malware or EDR agent runs);
    `patched_at` (ISO 8601, optional: when updates were last installed)."""


@resource_types.register("hybrid.firewall")
class Firewall(HybridResource):
    """A network firewall or access control list. Document fields: `rules`, each {`name`,
    `action`: allow | deny, `direction`: inbound | outbound, `protocol`: tcp | udp | any, `ports`:
    "22" | "20-25" | "*" (or a list of those), `sources`: ["0.0.0.0/0", "10.0.0.0/8", ...],
    `priority`: int (lower first), `enabled`: bool}. Shaping adds `internetOpenPorts` {tcp, udp}:
    the ports that inbound internet traffic reaches (see `internet_open_ports`)."""

    @classmethod
    def pushed(cls, document: dict) -> dict:
        shaped = dict(document)
        rules = shaped.get("rules")
        shaped["internetOpenPorts"] = internet_open_ports(rules if isinstance(rules, list) else [])
        return shaped


@resource_types.register("hybrid.storage")
class Storage(HybridResource):
    """Object storage (a MinIO or Ceph bucket) or a NAS share. Document fields:
    `encryption_at_rest`: bool, `public_access`: bool (anonymous clients may read or list it),
    `versioning`: bool (overwritten and deleted objects or files are kept as earlier versions)."""


@resource_types.register("hybrid.database")
class Database(HybridResource):
    """A self-managed database server. Document fields: `engine` (postgresql, mysql, mssql, ...),
    `version`, `tls_required`: bool (clients without TLS are refused), `audit_logging`: bool
    (connections and statements are recorded), `backups_enabled`: bool (scheduled backups run)."""


class _Rule:
    """One firewall rule as it applies to inbound traffic. Left-out fields take the meaning
    firewalls give them: no protocol, ports or sources is any; no priority is after every
    numbered rule, in the listed order; no `enabled` is enabled."""

    def __init__(self, rule: dict, position: int):
        action = str(rule.get("action") or "").strip().lower()
        self.allow, self.deny = action == "allow", action in ("deny", "drop", "reject")
        self.active = rule.get("enabled", True) is not False
        self.inbound = str(rule.get("direction") or "inbound").strip().lower() == "inbound"
        protocol = str(rule.get("protocol") or "any").strip().lower()
        self.protocols = set(PROTOCOLS) if protocol in ("any", "*", "all", "ip") else {protocol} & set(PROTOCOLS)
        sources = rule.get("sources")
        sources = sources if isinstance(sources, list) else ["*"] if sources is None else [sources]
        self.from_internet = any(str(source).strip().lower() in INTERNET_SOURCES for source in sources)
        self.ports = port_ranges(rule.get("ports"))
        priority = rule.get("priority")
        numbered = isinstance(priority, int) and not isinstance(priority, bool)
        # Lower priority first; at equal priority a deny is met before an allow (deny wins).
        self.order = (priority if numbered else float("inf"), 0 if self.deny else 1, position)


def port_ranges(spec: Any) -> Ranges:
    """The port intervals of a rule's `ports`: "22", "20-25", "*" (or any, all, null: every port),
    a number, or a list of those; what is none of them admits nothing."""
    if spec is None:
        return [ALL_PORTS]
    return port_intervals(spec if isinstance(spec, list) else [spec])


def internet_open_ports(rules: list[Any]) -> dict[str, list[str]]:
    """Per protocol (tcp, udp), the ports that inbound internet traffic reaches: enabled inbound
    rules in priority order, the first that matches the traffic deciding, so an earlier deny from
    the internet shadows a later allow. Traffic no rule allows is refused (implicit deny)."""
    rules = sorted(
        (
            rule
            for rule in (_Rule(item, position) for position, item in enumerate(rules) if isinstance(item, dict))
            if rule.active and rule.inbound and rule.from_internet and (rule.allow or rule.deny)
        ),
        key=lambda rule: rule.order,
    )
    open_ports: dict[str, Ranges] = {protocol: [] for protocol in PROTOCOLS}
    decided: dict[str, Ranges] = {protocol: [] for protocol in PROTOCOLS}
    for rule in rules:
        for protocol in rule.protocols:
            ports = without(rule.ports, decided[protocol])
            if rule.allow:
                open_ports[protocol] += ports
            decided[protocol] += ports
    return {protocol: as_specs(ranges) for protocol, ranges in open_ports.items()}
