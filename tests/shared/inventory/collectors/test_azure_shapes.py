"""Azure resource types on real payload shapes: every type with a fixture in the shape the API
returns (tests/fixtures/azure/<type>.json: Resource Graph rows, and the ARM GET answers of its
detail calls), shaped as the collector and the export upload shape it, and every policy of the
type evaluated on it; plus the NSG rule evaluation, the Key Vault absent fields and the field
spellings that older API versions used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.inventory.collectors.azure.engine import attach, from_rows, shape
from shared.inventory.collectors.azure.network import internet_open_ports
from shared.inventory.collectors.providers import resource_types
from shared.policies.policy import builtin_policies

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "azure"
# The types this suite owns a fixture with expected verdicts for (other modules add their own).
TYPES = (
    "azure.resources.subscription",
    "azure.storage.account",
    "azure.network.nsg",
    "azure.network.public-ip",
    "azure.network.vnet",
    "azure.sql.server",
    "azure.sql.database",
    "azure.postgresql.server",
    "azure.keyvault.vault",
    "azure.compute.vm",
    "azure.compute.disk",
    "azure.web.app",
    "azure.containerservice.cluster",
    "azure.cosmosdb.account",
)
POLICIES = builtin_policies()


def load(resource_type: str) -> dict:
    return json.loads((FIXTURES / f"{resource_type}.json").read_text())


def collected(resource_type: str) -> dict:
    """The fixture's rows as the live collector shapes them: each detail GET's answer attached
    (a `details` key that is a detail path applies to every row, one that is a row name to it)."""
    spec = resource_types.get(resource_type)
    fixture = load(resource_type)
    details = fixture.get("details") or {}
    documents = {}
    for row in fixture["rows"]:
        answers = {path: answer for path, answer in details.items() if path in {d.path for d in spec.details}}
        answers.update(details.get(row["name"]) or {})
        row = json.loads(json.dumps(row))
        for detail in spec.details:
            if detail.path in answers:
                attach(row, detail, [answers[detail.path]])
        documents[row["name"]] = shape(spec, row)
    return documents


def verdict(policy_id: str, document: dict) -> str:
    return "fail" if POLICIES[policy_id].fails(document) else "pass"


@pytest.mark.parametrize("resource_type", TYPES)
def test_fixture_is_the_real_shape_and_names_its_source(resource_type):
    fixture = load(resource_type)
    assert fixture["source"].strip()
    native = resource_types.get(resource_type).native_type
    for row in fixture["rows"]:
        assert row["type"] == native  # Resource Graph lower-cases the type
        assert row["id"].startswith("/subscriptions/") and row["subscriptionId"] and "tenantId" in row


@pytest.mark.parametrize("resource_type", TYPES)
def test_every_policy_of_the_type_on_the_real_shape(resource_type):
    expected = load(resource_type)["expected"]
    documents = collected(resource_type)
    policies = sorted(pid for pid, policy in POLICIES.items() if policy.resource_type == resource_type)
    for name, document in documents.items():
        verdicts = {pid: verdict(pid, document.document) for pid in policies}  # every policy of the type runs
        assert {pid: verdicts[pid] for pid in expected[name]} == expected[name], name
    # Each policy with expected verdicts meets both a passing and a failing real-shape resource.
    for pid in {pid for verdicts in expected.values() for pid in verdicts}:
        assert {verdicts[pid] for verdicts in expected.values() if pid in verdicts} == {"pass", "fail"}, pid


def test_every_policy_of_these_types_has_real_shape_verdicts():
    """The 31 policies these fixtures were written for; policies added since on the same types
    bring their own fixture rows and expectations."""
    covered = {
        pid for resource_type in TYPES for verdicts in load(resource_type)["expected"].values() for pid in verdicts
    }
    assert len(covered) == 31 and covered <= set(POLICIES)


@pytest.mark.parametrize("resource_type", TYPES)
def test_export_rows_are_shaped_like_the_live_collector(resource_type):
    """An uploaded Resource Graph export holds the same rows without detail answers: from_rows
    gives the same documents as the collector minus what the detail calls add."""
    spec = resource_types.get(resource_type)
    fixture = load(resource_type)
    uploaded = {resource.name: resource for resource in from_rows(fixture["rows"])}
    live = collected(resource_type)
    assert set(uploaded) == set(live)
    for name, resource in uploaded.items():
        assert resource.resource_type == resource_type and resource.uid == live[name].uid
        without_details = {k: v for k, v in live[name].document.items() if k not in {d.into for d in spec.details}}
        assert resource.document == without_details


def test_export_rows_without_details_fail_the_detail_policies():
    """No detail answers in an export: the policies that need them say so by failing, never pass."""
    for resource_type, policy_ids in {
        "azure.sql.server": ["pol_azure_sql_auditing", "pol_azure_sql_firewall_allow_all"],
        "azure.sql.database": ["pol_azure_sql_database_tde"],
        "azure.postgresql.server": [
            "pol_azure_postgresql_require_ssl",
            "pol_azure_postgresql_log_connections",
            "pol_azure_postgresql_azure_services_access",
        ],
        "azure.keyvault.vault": ["pol_azure_keyvault_key_expiry", "pol_azure_keyvault_logging"],
        "azure.web.app": ["pol_azure_webapp_min_tls", "pol_azure_webapp_ftp_disabled"],
        "azure.resources.subscription": [
            "pol_azure_alert_nsg_write",
            "pol_azure_security_contact_email",
            "pol_azure_activity_log_categories",
        ],
    }.items():
        for resource in from_rows(load(resource_type)["rows"]):
            assert {pid: verdict(pid, resource.document) for pid in policy_ids} == dict.fromkeys(policy_ids, "fail")


# --- NSG rules as Azure evaluates them ----------------------------------------------------------


def rule(name, priority, access, source, ports, *, protocol="Tcp", direction="Inbound", destination="*"):
    properties = {
        "priority": priority,
        "access": access,
        "direction": direction,
        "protocol": protocol,
        "sourcePortRange": "*",
        "destinationAddressPrefix": destination,
    }
    properties["sourceAddressPrefixes" if isinstance(source, list) else "sourceAddressPrefix"] = source
    properties["destinationPortRanges" if isinstance(ports, list) else "destinationPortRange"] = ports
    return {"name": name, "properties": properties}


def ssh_and_rdp(*rules) -> dict[str, str]:
    document = {"name": "nsg", "internetOpenPorts": internet_open_ports({"securityRules": list(rules)})}
    return {pid: verdict(pid, document) for pid in ("pol_azure_nsg_ssh_open", "pol_azure_nsg_rdp_open")}


def test_a_higher_priority_deny_shadows_an_allow_from_the_internet():
    assert ssh_and_rdp(rule("deny", 100, "Deny", "Internet", "22"), rule("allow", 200, "Allow", "*", "22")) == {
        "pol_azure_nsg_ssh_open": "pass",
        "pol_azure_nsg_rdp_open": "pass",
    }


def test_an_allow_before_the_deny_is_open():
    assert (
        ssh_and_rdp(rule("allow", 100, "Allow", "Internet", "22"), rule("deny", 200, "Deny", "*", "22"))[
            "pol_azure_nsg_ssh_open"
        ]
        == "fail"
    )


def test_rules_are_ordered_by_priority_not_by_position():
    assert (
        ssh_and_rdp(
            rule("allow", 300, "Allow", "0.0.0.0/0", "22"), rule("deny", 100, "Deny", "Any", "*", protocol="*")
        )["pol_azure_nsg_ssh_open"]
        == "pass"
    )


def test_port_ranges_and_lists_are_cut_by_the_deny():
    ports = internet_open_ports(
        {
            "securityRules": [
                rule("deny-ssh", 100, "Deny", "*", ["22", "3389"], protocol="*"),
                rule("allow-range", 200, "Allow", ["10.0.0.0/8", "::/0"], ["20-25", "3380-3390"]),
                rule("allow-udp", 300, "Allow", "Internet", "3389", protocol="Udp"),
            ]
        }
    )
    assert ports == {"tcp": ["20-21", "23-25", "3380-3388", "3390"], "udp": []}


def test_a_deny_for_another_protocol_source_or_destination_does_not_shadow():
    assert (
        ssh_and_rdp(rule("deny-udp", 100, "Deny", "*", "22", protocol="Udp"), rule("allow", 200, "Allow", "*", "22"))[
            "pol_azure_nsg_ssh_open"
        ]
        == "fail"
    )
    assert (
        ssh_and_rdp(rule("deny-one", 100, "Deny", "203.0.113.7", "22"), rule("allow", 200, "Allow", "*", "22"))[
            "pol_azure_nsg_ssh_open"
        ]
        == "fail"
    )
    assert (
        ssh_and_rdp(
            rule("deny-host", 100, "Deny", "*", "22", destination="10.0.0.4"), rule("allow", 200, "Allow", "*", "22")
        )["pol_azure_nsg_ssh_open"]
        == "fail"
    )


def test_outbound_and_narrow_sources_open_nothing_and_udp_rdp_is_open():
    assert ssh_and_rdp(
        rule("out", 100, "Allow", "*", "22", direction="Outbound"), rule("corp", 110, "Allow", "10.0.0.0/8", "3389")
    ) == {"pol_azure_nsg_ssh_open": "pass", "pol_azure_nsg_rdp_open": "pass"}
    assert (
        ssh_and_rdp(rule("rdp-udp", 100, "Allow", "Internet", "3389", protocol="Udp"))["pol_azure_nsg_rdp_open"]
        == "fail"
    )


def nsg_verdicts(*rules) -> dict[str, str]:
    document = {"name": "nsg", "internetOpenPorts": internet_open_ports({"securityRules": list(rules)})}
    return {pid: verdict(pid, document) for pid in ("pol_azure_nsg_udp_open", "pol_azure_nsg_http_open")}


def test_udp_and_web_ports_from_the_internet_are_judged_in_priority_order():
    dns = rule("dns", 200, "Allow", "Internet", "53", protocol="Udp")
    assert nsg_verdicts(dns)["pol_azure_nsg_udp_open"] == "fail"
    assert (
        nsg_verdicts(rule("deny-udp", 100, "Deny", "*", "*", protocol="Udp"), dns)["pol_azure_nsg_udp_open"] == "pass"
    )
    # A TCP-only deny does not shadow UDP; a UDP rule opens no web port.
    assert nsg_verdicts(rule("deny-tcp", 100, "Deny", "*", "*"), dns) == {
        "pol_azure_nsg_udp_open": "fail",
        "pol_azure_nsg_http_open": "pass",
    }
    web = rule("web", 300, "Allow", "*", ["80-8443"])
    assert nsg_verdicts(web)["pol_azure_nsg_http_open"] == "fail"
    assert (
        nsg_verdicts(rule("deny-web", 100, "Deny", "Internet", ["80", "443"]), web)["pol_azure_nsg_http_open"] == "pass"
    )
    assert nsg_verdicts(rule("office", 100, "Allow", "203.0.113.0/24", "443")) == {
        "pol_azure_nsg_udp_open": "pass",
        "pol_azure_nsg_http_open": "pass",
    }


def test_default_rules_close_what_no_custom_rule_opens():
    nsg = load("azure.network.nsg")["rows"][0]
    assert internet_open_ports({"defaultSecurityRules": nsg["properties"]["defaultSecurityRules"]}) == {
        "tcp": [],
        "udp": [],
    }


def test_rules_flattened_without_properties_are_read_too():
    """`az network nsg show` and older exports give a rule's fields beside its name."""
    flat = {"name": "ssh", **rule("ssh", 100, "Allow", "Internet", "22")["properties"]}
    assert internet_open_ports({"securityRules": [flat]})["tcp"] == ["22"]


# --- Key Vault: absent fields -------------------------------------------------------------------


def test_a_vault_without_enable_soft_delete_fails_both_recoverability_policies():
    """Before 2019-09-01 the API left enableSoftDelete unset when soft delete was off; purge
    protection is unset until enabled. Absent fails both (it used to pass soft delete)."""
    vault = collected("azure.keyvault.vault")["kv-old"].document
    assert "enableSoftDelete" not in vault["properties"] and "enablePurgeProtection" not in vault["properties"]
    assert verdict("pol_azure_keyvault_soft_delete", vault) == "fail"
    assert verdict("pol_azure_keyvault_purge_protection", vault) == "fail"


# --- field spellings ----------------------------------------------------------------------------


def test_older_spellings_are_normalised_to_the_one_policies_read():
    storage = resource_types.get("azure.storage.account").normalise(
        {"id": "/subscriptions/s/x", "properties": {"enableHttpsTrafficOnly": False}}
    )
    assert storage["properties"] == {"supportsHttpsTrafficOnly": False}
    assert verdict("pol_azure_storage_secure_transfer", storage) == "fail"
    database = collected("azure.sql.database")["olddb"].document
    assert database["transparentDataEncryption"] == {"state": "Enabled"}
    cosmos = collected("azure.cosmosdb.account")["cosmos-2019"].document["properties"]
    assert "ipRangeFilter" not in cosmos
    assert cosmos["ipRules"] == [{"ipAddressOrRange": "104.42.195.92"}, {"ipAddressOrRange": "40.76.54.131"}]
