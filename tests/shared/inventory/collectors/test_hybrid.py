"""Hybrid resource types: their declarations, the firewall's evaluation of its rules, and every
built-in hybrid policy on documents shaped as an upload's are."""

from __future__ import annotations

import pytest

from devkit.demo import DATACENTER
from shared.inventory.collectors.base import CollectedResource
from shared.inventory.collectors.hybrid import internet_open_ports, port_ranges
from shared.inventory.collectors.providers import is_global, resource_types, service_of, uid_prefix
from shared.inventory.tags import with_tags
from shared.policies.policy import builtin_policies

HYBRID_TYPES = ("hybrid.database", "hybrid.firewall", "hybrid.host", "hybrid.storage")
POLICIES = {pid: p for pid, p in builtin_policies().items() if p.provider == "hybrid"}


def rule(ports="22", action="allow", **changes) -> dict:
    base = {
        "name": f"{action}-{ports}",
        "action": action,
        "direction": "inbound",
        "protocol": "tcp",
        "ports": ports,
        "sources": ["0.0.0.0/0"],
        "priority": 100,
        "enabled": True,
    }
    return {**base, **changes}


def shaped(resource_type: str, document: dict) -> dict:
    """A document as an upload stores it (uploads._pushed)."""
    spec = resource_types.get(resource_type)
    return with_tags(spec.provider, spec.pushed(document))


def test_types_are_declared_for_uploads():
    assert sorted(n for n, s in resource_types.items() if s.provider == "hybrid") == list(HYBRID_TYPES)
    for name in HYBRID_TYPES:
        spec = resource_types.get(name)
        assert is_global(name) and service_of(name) is None and uid_prefix(name) is None
        assert spec.volatile == () and spec.clock_dependent is False
        assert spec.__doc__ and "`" in spec.__doc__, "the docstring names the document's fields"
    resource = CollectedResource("dc/app-01", "app-01", "app-01", "hybrid.host", "dc-frankfurt", {})
    assert resource.provider == "hybrid"


def test_shaping_copies_and_leaves_fields_as_pushed():
    document = {"hostname": "app-01", "ssh": {"password_authentication": False}, "disk_encryption": True}
    result = resource_types.get("hybrid.host").pushed(document)
    assert result == document and result is not document
    firewall = {"rules": [rule()]}
    assert resource_types.get("hybrid.firewall").pushed(firewall) == {
        "rules": [rule()],
        "internetOpenPorts": {"tcp": ["22"], "udp": []},
    }
    assert "internetOpenPorts" not in firewall  # the pushed document is not changed in place
    # Shaping is idempotent: a document pushed again as it was stored comes out the same.
    once = shaped("hybrid.firewall", firewall)
    assert shaped("hybrid.firewall", dict(once)) == once


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("22", [(22, 22)]),
        ("20-25", [(20, 25)]),
        ("*", [(0, 65535)]),
        ("any", [(0, 65535)]),
        (None, [(0, 65535)]),
        (3389, [(3389, 3389)]),
        (["22", "8000-8080"], [(22, 22), (8000, 8080)]),
        ("ssh", []),
        ([], []),
    ],
)
def test_port_ranges(spec, expected):
    assert port_ranges(spec) == expected


@pytest.mark.parametrize(
    "rules,expected",
    [
        pytest.param([], {"tcp": [], "udp": []}, id="no rules: implicit deny"),
        pytest.param([rule("22")], {"tcp": ["22"], "udp": []}, id="allow"),
        pytest.param([rule("*", protocol="any")], {"tcp": ["0-65535"], "udp": ["0-65535"]}, id="any protocol"),
        pytest.param([rule("53", protocol="udp")], {"tcp": [], "udp": ["53"]}, id="udp"),
        pytest.param(
            [rule("22", "deny", priority=100), rule("20-25", priority=200)],
            {"tcp": ["20-21", "23-25"], "udp": []},
            id="an earlier deny shadows part of a later allow",
        ),
        pytest.param(
            [rule("20-25", priority=100), rule("22", "deny", priority=200)],
            {"tcp": ["20-25"], "udp": []},
            id="a later deny does not close what an earlier allow opened",
        ),
        pytest.param(
            [rule("22", priority=100), rule("22", "deny", priority=100)],
            {"tcp": [], "udp": []},
            id="at equal priority the deny wins",
        ),
        pytest.param(
            [rule("22", "deny", priority=100, enabled=False), rule("22", priority=200)],
            {"tcp": ["22"], "udp": []},
            id="a disabled deny shadows nothing",
        ),
        pytest.param([rule("22", enabled=False)], {"tcp": [], "udp": []}, id="a disabled allow opens nothing"),
        pytest.param(
            [rule("22", "deny", sources=["10.0.0.0/8"]), rule("22", priority=200)],
            {"tcp": ["22"], "udp": []},
            id="a deny for internal sources does not shadow internet traffic",
        ),
        pytest.param([rule("22", sources=["203.0.113.0/24"])], {"tcp": [], "udp": []}, id="known sources only"),
        pytest.param([rule("22", direction="outbound")], {"tcp": [], "udp": []}, id="outbound rules do not count"),
        pytest.param(
            [rule("*", "deny", protocol="udp", priority=10), rule("*", protocol="any", priority=20)],
            {"tcp": ["0-65535"], "udp": []},
            id="a deny shadows only its own protocol",
        ),
        pytest.param(
            [rule("22", priority=None), rule("22", "deny", priority=65000)],
            {"tcp": [], "udp": []},
            id="a rule without priority comes after every numbered one",
        ),
        pytest.param(
            [{"action": "allow", "name": "bare"}],
            {"tcp": ["0-65535"], "udp": ["0-65535"]},
            id="left out: inbound, any protocol, port and source, enabled",
        ),
        pytest.param(
            [{"name": "no-action", "ports": "22"}, "not a rule", rule("3389", sources=["::/0"])],
            {"tcp": ["3389"], "udp": []},
            id="rules without an action and non-objects are ignored; ::/0 is the internet",
        ),
        pytest.param(
            [rule(["22", "3389"], priority=200), rule("3389", "drop", priority=100), rule("21-23", priority=300)],
            {"tcp": ["21-23"], "udp": []},
            id="port lists, drop as deny, merged ranges",
        ),
    ],
)
def test_internet_open_ports(rules, expected):
    assert internet_open_ports(rules) == expected


FIREWALL_POLICIES = [p for p in POLICIES.values() if p.resource_type == "hybrid.firewall"]


@pytest.mark.parametrize("policy", FIREWALL_POLICIES, ids=lambda p: p.id)
def test_firewall_examples_agree_with_the_evaluation(policy):
    """The examples state `internetOpenPorts`; shaping their rules must derive the same."""
    for example in policy.examples.values():
        assert internet_open_ports(example["rules"]) == example["internetOpenPorts"]


HOST = {
    "hostname": "app-01.dc-frankfurt",
    "os": {"name": "Ubuntu", "version": "22.04", "end_of_life": False},
    "disk_encryption": True,
    "ssh": {"password_authentication": False, "root_login": False},
    "endpoint_protection": True,
    "patched_at": "2026-11-30T02:00:00Z",
}
STORAGE = {"encryption_at_rest": True, "public_access": False, "versioning": True}
DATABASE = {
    "engine": "postgresql",
    "version": "15.6",
    "tls_required": True,
    "audit_logging": True,
    "backups_enabled": True,
}
FIREWALL = {"rules": [rule("22", sources=["198.51.100.0/24"]), rule("443", priority=200)]}
COMPLIANT = {"hybrid.host": HOST, "hybrid.storage": STORAGE, "hybrid.database": DATABASE, "hybrid.firewall": FIREWALL}

# Per policy, a change that makes the compliant document fail.
FAILING = {
    "pol_hybrid_host_disk_encryption": {"disk_encryption": False},
    "pol_hybrid_host_ssh_password_authentication": {"ssh": {"password_authentication": True, "root_login": False}},
    "pol_hybrid_host_ssh_root_login": {"ssh": {"password_authentication": False, "root_login": True}},
    "pol_hybrid_host_os_supported": {"os": {"name": "CentOS", "version": "7", "end_of_life": True}},
    "pol_hybrid_host_endpoint_protection": {"endpoint_protection": False},
    "pol_hybrid_firewall_ssh_open": {"rules": [rule("443"), rule("22", priority=200)]},
    "pol_hybrid_firewall_rdp_open": {"rules": [rule("3000-4000", protocol="any")]},
    "pol_hybrid_storage_encryption_at_rest": {"encryption_at_rest": False},
    "pol_hybrid_storage_not_public": {"public_access": True},
    "pol_hybrid_storage_versioning": {"versioning": False},
    "pol_hybrid_database_tls_required": {"tls_required": False},
    "pol_hybrid_database_audit_logging": {"audit_logging": False},
    "pol_hybrid_database_backups": {"backups_enabled": False},
}


def test_every_hybrid_policy_has_a_failing_case():
    assert set(FAILING) == set(POLICIES)
    assert {p.resource_type for p in POLICIES.values()} == set(HYBRID_TYPES)


@pytest.mark.parametrize("policy_id", sorted(FAILING))
def test_policy_on_realistic_documents(policy_id):
    policy = POLICIES[policy_id]
    compliant = shaped(policy.resource_type, COMPLIANT[policy.resource_type])
    failing = shaped(policy.resource_type, {**COMPLIANT[policy.resource_type], **FAILING[policy_id]})
    assert policy.fails(compliant) is False
    assert policy.fails(failing) is True
    assert policy.status_extended(True, name="x") != policy.status_extended(False, name="x")


@pytest.mark.parametrize("policy_id", ["pol_hybrid_host_ssh_password_authentication", "pol_hybrid_host_ssh_root_login"])
def test_ssh_policies_skip_hosts_without_an_ssh_server(policy_id):
    policy = POLICIES[policy_id]
    windows = {key: value for key, value in HOST.items() if key != "ssh"}
    assert policy.applies(shaped("hybrid.host", windows)) is False
    assert policy.fails(shaped("hybrid.host", windows)) is False
    assert policy.fails(shaped("hybrid.host", {**HOST, "ssh": {}})) is True  # OpenSSH's defaults


def test_the_demo_datacenter_fails_one_policy_per_resource():
    failed = {}
    for resource in DATACENTER["resources"]:
        document = shaped(resource["type"], resource["document"])
        failed[resource["id"]] = sorted(
            p.id for p in POLICIES.values() if p.resource_type == resource["type"] and p.fails(document)
        )
    assert failed == {
        "fw-edge-01": ["pol_hybrid_firewall_ssh_open"],
        "minio-backups": ["pol_hybrid_storage_encryption_at_rest"],
        "app-01": ["pol_hybrid_host_ssh_password_authentication"],
        "orders-db": ["pol_hybrid_database_audit_logging"],
    }
