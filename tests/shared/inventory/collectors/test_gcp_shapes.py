"""The 17 original GCP resource types held against real payload shapes: Cloud Asset Inventory
assets whose resource.data is the service's REST representation (tests/fixtures/gcp/<type>.json,
each naming its source), shaped as an upload shapes them and evaluated by every policy of the type;
and the shape defects of issue 19 (export spellings, sink attachment, dataset IAM policies,
firewall evaluation, older field spellings), each with the case that used to go wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from devkit.fakes.gcp import PROJECT_NUMBER, FakeAssetInventory, make_asset, seed_estate
from shared.inventory.collectors.gcp.compute import ComputeFirewall, ComputeInstance
from shared.inventory.collectors.gcp.engine import from_export
from shared.inventory.collectors.gcp.shaping import internet_ingress, json_names
from shared.policies.policy import builtin_policies
from tests.shared.inventory.collectors.test_gcp import listed, make_collector

FIXTURES = Path(__file__).parents[3] / "fixtures" / "gcp"
TYPES = (
    "gcp.bigquery.dataset",
    "gcp.compute.disk",
    "gcp.compute.firewall",
    "gcp.compute.instance",
    "gcp.compute.network",
    "gcp.compute.subnetwork",
    "gcp.container.cluster",
    "gcp.iam.service-account",
    "gcp.iam.service-account-key",
    "gcp.kms.crypto-key",
    "gcp.kms.crypto-key-iam-policy",
    "gcp.logging.sink",
    "gcp.resourcemanager.project",
    "gcp.resourcemanager.project-iam-policy",
    "gcp.sql.instance",
    "gcp.storage.bucket",
    "gcp.storage.bucket-iam-policy",
)
# The policies these types had before issue 19: each fixture names a verdict of every one of them.
ORIGINAL_POLICIES = frozenset(
    {
        "pol_gcp_audit_logging_all_services",
        "pol_gcp_bigquery_dataset_cmek",
        "pol_gcp_bigquery_dataset_public",
        "pol_gcp_bucket_public_access_prevention",
        "pol_gcp_bucket_public_iam",
        "pol_gcp_bucket_uniform_access",
        "pol_gcp_disk_cmek",
        "pol_gcp_firewall_all_open",
        "pol_gcp_firewall_rdp_open",
        "pol_gcp_firewall_ssh_open",
        "pol_gcp_gke_legacy_abac",
        "pol_gcp_gke_private_nodes",
        "pol_gcp_iam_gmail_accounts",
        "pol_gcp_iam_primitive_roles_users",
        "pol_gcp_iam_sa_admin_roles",
        "pol_gcp_iam_sa_user_project_level",
        "pol_gcp_instance_block_project_ssh_keys",
        "pol_gcp_instance_default_sa_full_access",
        "pol_gcp_instance_default_service_account",
        "pol_gcp_instance_ip_forwarding",
        "pol_gcp_instance_public_ip",
        "pol_gcp_instance_serial_port",
        "pol_gcp_instance_shielded_vm",
        "pol_gcp_kms_key_public",
        "pol_gcp_kms_key_rotation",
        "pol_gcp_logging_sink_all_entries",
        "pol_gcp_network_default",
        "pol_gcp_network_legacy",
        "pol_gcp_sa_key_user_managed",
        "pol_gcp_sql_authorized_networks_open",
        "pol_gcp_sql_automated_backups",
        "pol_gcp_sql_public_ip",
        "pol_gcp_sql_require_ssl",
        "pol_gcp_subnet_flow_logs",
        "pol_gcp_subnet_private_google_access",
    }
)
POLICIES = builtin_policies()


def shaped(resource_type: str, assets: list[dict]) -> dict[str, dict]:
    return {r.name: r.document for r in from_export(assets) if r.resource_type == resource_type}


@pytest.mark.parametrize("resource_type", TYPES)
def test_real_shape_fixture_meets_every_policy_of_its_type(resource_type):
    fixture = json.loads((FIXTURES / f"{resource_type}.json").read_text())
    assert fixture["source"]
    documents = shaped(resource_type, fixture["assets"])
    assert documents, "the fixture shapes to resources of its type"
    original = {p.id for p in POLICIES.values() if p.resource_type == resource_type and p.id in ORIGINAL_POLICIES}
    verdicts = fixture["verdicts"]
    assert set(verdicts) <= set(documents)
    for name, expected in verdicts.items():
        assert original <= set(expected), f"{name}: a verdict for every original policy of {resource_type}"
        got = {policy_id: "fail" if POLICIES[policy_id].fails(documents[name]) else "pass" for policy_id in expected}
        assert got == expected, name


@pytest.mark.parametrize("resource_type", TYPES)
def test_the_fake_estate_shapes_every_type(resource_type):
    assert shaped(resource_type, [stored.asset for stored in seed_estate()])


@pytest.mark.parametrize("policy_id", sorted(ORIGINAL_POLICIES))
def test_original_policy_says_what_an_absent_field_means(policy_id):
    policy = POLICIES[policy_id]
    assert policy.absent and policy.absent["because"].strip()
    assert policy.fails(policy.examples["absent"]) is (policy.absent["verdict"] == "fail")


# --- gcloud asset export spellings -------------------------------------------------------------


def test_an_export_line_in_protobuf_field_names_is_read_in_json_names():
    line = json.loads((FIXTURES / "gcloud_asset_export.ndjson").read_text().splitlines()[1])
    assert "asset_type" in line and "audit_configs" in line["iam_policy"]
    asset = json_names(line)
    assert asset["assetType"] == "cloudresourcemanager.googleapis.com/Project"
    assert asset["updateTime"] == line["update_time"]
    assert asset["iamPolicy"]["auditConfigs"][0]["auditLogConfigs"][0] == {"logType": "ADMIN_READ"}


def test_resource_data_keeps_its_own_field_names():
    line = json.loads((FIXTURES / "gcloud_asset_export.ndjson").read_text().splitlines()[0])
    line["resource"]["data"]["some_field"] = 1
    asset = json_names(line)
    assert asset["resource"]["discoveryDocumentUri"] == line["resource"]["discovery_document_uri"]
    assert asset["resource"]["data"]["some_field"] == 1 and "projectNumber" in asset["resource"]["data"]


def test_an_export_in_protobuf_names_shapes_like_one_in_json_names():
    lines = [json.loads(line) for line in (FIXTURES / "gcloud_asset_export.ndjson").read_text().splitlines()]
    assert {(r.uid, json.dumps(r.document, sort_keys=True)) for r in from_export(lines)} == {
        (r.uid, json.dumps(r.document, sort_keys=True)) for r in from_export([json_names(line) for line in lines])
    }
    assert {r.resource_type for r in from_export(lines)} >= {
        "gcp.resourcemanager.project",
        "gcp.resourcemanager.project-iam-policy",
        "gcp.compute.firewall",
        "gcp.bigquery.dataset",
    }


# --- log sinks attach to their project by the project's number --------------------------------


def test_sinks_attach_to_a_project_whose_parent_is_its_organization():
    fixture = json.loads((FIXTURES / "gcp.resourcemanager.project.json").read_text())
    project = next(a for a in fixture["assets"] if a["assetType"].endswith("/Project"))
    assert project["resource"]["parent"].startswith("//cloudresourcemanager.googleapis.com/organizations/")
    document = shaped("gcp.resourcemanager.project", fixture["assets"])["example-prod"]
    assert [sink["name"] for sink in document["logSinks"]] == ["_Required", "_Default", "all-logs-archive"]
    assert not POLICIES["pol_gcp_logging_sink_all_entries"].fails(document)


def test_sinks_of_another_project_do_not_attach():
    fixture = json.loads((FIXTURES / "gcp.resourcemanager.project.json").read_text())
    assets = copy.deepcopy(fixture["assets"])
    for asset in assets[1:]:
        asset["resource"]["parent"] = "//cloudresourcemanager.googleapis.com/projects/999999999999"
    document = shaped("gcp.resourcemanager.project", assets)["example-prod"]
    assert document["logSinks"] == []
    assert POLICIES["pol_gcp_logging_sink_all_entries"].fails(document)


def test_the_fake_gives_a_project_its_organization_as_parent():
    project = next(s.asset for s in seed_estate() if s.asset["assetType"].endswith("/Project"))
    assert project["resource"]["parent"] == "//cloudresourcemanager.googleapis.com/organizations/433637338589"
    sink = next(s.asset for s in seed_estate() if s.asset["assetType"].endswith("/LogSink"))
    assert sink["resource"]["parent"] == f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}"


# --- BigQuery exposure through the dataset's IAM policy ----------------------------------------


def test_a_dataset_public_only_through_its_iam_policy_fails():
    fixture = json.loads((FIXTURES / "gcp.bigquery.dataset.json").read_text())
    documents = shaped("gcp.bigquery.dataset", fixture["assets"])
    assert documents["shared_reports"]["iamPolicy"]["bindings"][0]["members"] == ["allAuthenticatedUsers"]
    assert not any(entry.get("iamMember") for entry in documents["shared_reports"]["access"])
    assert POLICIES["pol_gcp_bigquery_dataset_public"].fails(documents["shared_reports"])
    assert documents["analytics"]["iamPolicy"] == {}


def test_the_live_collector_attaches_a_datasets_iam_policy():
    policy = {"version": 1, "bindings": [{"role": "roles/bigquery.dataViewer", "members": ["allUsers"]}]}
    extra = make_asset(
        "acme-prod",
        PROJECT_NUMBER,
        "bigquery.googleapis.com/Dataset",
        "//bigquery.googleapis.com/projects/acme-prod/datasets/shared_reports",
        {"datasetReference": {"datasetId": "shared_reports", "projectId": "acme-prod"}, "access": []},
        location="us",
        iam_policy=policy,
    )
    with FakeAssetInventory([*seed_estate(), extra]) as fake:
        collector, _ = make_collector(fake.url)
        documents = {r.name: r.document for r in listed(collector, "gcp.bigquery.dataset")}
    assert documents["shared_reports"]["iamPolicy"] == policy
    assert POLICIES["pol_gcp_bigquery_dataset_public"].fails(documents["shared_reports"])
    assert documents["analytics"]["iamPolicy"] == {}


# --- firewall rules evaluated as the VPC firewall does ------------------------------------------

NETWORK = "https://www.googleapis.com/compute/v1/projects/acme-prod/global/networks/default"


def rule(name: str, **fields) -> dict:
    return {"name": name, "network": NETWORK, **fields}


ALLOW_SSH = rule(
    "allow-ssh", priority=65534, sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "tcp", "ports": ["22"]}]
)
DENY_SSH = rule("deny-ssh", priority=1000, sourceRanges=["0.0.0.0/0"], denied=[{"IPProtocol": "tcp", "ports": ["22"]}])


def ssh_open(allow: dict, *others: dict) -> bool:
    document = ComputeFirewall.normalise({**copy.deepcopy(allow), "projectFirewalls": copy.deepcopy([allow, *others])})
    assert "projectFirewalls" not in document
    return POLICIES["pol_gcp_firewall_ssh_open"].fails(document)


def test_a_deny_that_comes_first_shadows_the_allow():
    assert ssh_open(ALLOW_SSH)
    assert not ssh_open(ALLOW_SSH, DENY_SSH)


def test_at_equal_priority_deny_wins():
    assert not ssh_open(ALLOW_SSH, {**DENY_SSH, "priority": 65534})


def test_a_deny_that_comes_later_shadows_nothing():
    assert ssh_open({**ALLOW_SSH, "priority": 100}, DENY_SSH)


def test_priority_defaults_to_1000():
    assert not ssh_open({k: v for k, v in ALLOW_SSH.items() if k != "priority"}, DENY_SSH)
    assert ssh_open({**ALLOW_SSH, "priority": 999}, {k: v for k, v in DENY_SSH.items() if k != "priority"})


def test_disabled_egress_and_other_network_denies_do_not_count():
    assert ssh_open(ALLOW_SSH, {**DENY_SSH, "disabled": True})
    assert ssh_open(ALLOW_SSH, {**DENY_SSH, "direction": "EGRESS"})
    assert ssh_open(ALLOW_SSH, {**DENY_SSH, "network": NETWORK.replace("default", "prod-vpc")})


def test_disabled_and_egress_allows_admit_nothing():
    assert not ssh_open({**ALLOW_SSH, "disabled": True})
    assert not ssh_open({**ALLOW_SSH, "direction": "EGRESS", "destinationRanges": ["0.0.0.0/0"]})


def test_a_deny_of_other_ports_or_sources_leaves_the_allow_open():
    assert ssh_open(ALLOW_SSH, {**DENY_SSH, "denied": [{"IPProtocol": "tcp", "ports": ["23-25"]}]})
    assert ssh_open(ALLOW_SSH, {**DENY_SSH, "denied": [{"IPProtocol": "udp"}]})
    assert ssh_open(ALLOW_SSH, {**DENY_SSH, "sourceRanges": ["203.0.113.0/24"]})
    assert ssh_open({**ALLOW_SSH, "sourceRanges": ["0.0.0.0/0", "::/0"]}, DENY_SSH)  # IPv6 still open


def test_a_deny_for_some_targets_shadows_only_allows_for_those_targets():
    tagged = {**DENY_SSH, "targetTags": ["bastion"]}
    assert ssh_open(ALLOW_SSH, tagged)
    assert not ssh_open({**ALLOW_SSH, "targetTags": ["bastion"]}, tagged)
    assert ssh_open({**ALLOW_SSH, "targetTags": ["bastion", "web"]}, tagged)


def test_ports_left_by_a_deny_are_still_open():
    allow_all = rule("allow-all", priority=2000, sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "all"}])
    entries = internet_ingress(allow_all, [allow_all, DENY_SSH])
    assert {"IPProtocol": "tcp", "ports": ["0-21", "23-65535"]} in entries
    assert not ssh_open(allow_all, DENY_SSH)
    assert POLICIES["pol_gcp_firewall_rdp_open"].fails(
        ComputeFirewall.normalise({**allow_all, "projectFirewalls": [DENY_SSH]})
    )
    everything = rule("deny-all", priority=1000, sourceRanges=["0.0.0.0/0", "::/0"], denied=[{"IPProtocol": "all"}])
    assert internet_ingress(allow_all, [allow_all, everything]) == []


def test_protocol_numbers_and_port_ranges():
    numbered = rule("n", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "6", "ports": ["20-30"]}])
    assert internet_ingress(numbered, [numbered]) == [{"IPProtocol": "tcp", "ports": ["20-30"]}]
    assert ssh_open(numbered)


def test_a_live_listing_evaluates_each_rule_among_its_network():
    deny = make_asset(
        "acme-prod",
        PROJECT_NUMBER,
        "compute.googleapis.com/Firewall",
        "//compute.googleapis.com/projects/acme-prod/global/firewalls/deny-ssh",
        {**DENY_SSH, "direction": "INGRESS"},
    )
    with FakeAssetInventory([*seed_estate(), deny]) as fake:
        collector, _ = make_collector(fake.url)
        documents = {r.name: r.document for r in listed(collector, "gcp.compute.firewall")}
    assert not POLICIES["pol_gcp_firewall_ssh_open"].fails(documents["default-allow-ssh"])
    assert POLICIES["pol_gcp_firewall_rdp_open"].fails(documents["default-allow-rdp"])
    assert all("projectFirewalls" not in document for document in documents.values())


# --- older Cloud Asset Inventory spellings ------------------------------------------------------


def test_old_firewall_spelling_sourcerange_still_fails_ssh_and_rdp():
    old = rule("legacy", sourceRange=["0.0.0.0/0"], allowed=[{"IPProtocol": "tcp", "port": ["22", "3389"]}])
    document = ComputeFirewall.normalise({**copy.deepcopy(old), "projectFirewalls": [copy.deepcopy(old)]})
    assert document["sourceRanges"] == ["0.0.0.0/0"] and "sourceRange" not in document
    assert POLICIES["pol_gcp_firewall_ssh_open"].fails(document)
    assert POLICIES["pol_gcp_firewall_rdp_open"].fails(document)


def test_old_instance_spellings_still_fail():
    old = {
        "name": "web-old",
        "networkInterface": [{"name": "nic0", "accessConfig": [{"type": "ONE_TO_ONE_NAT", "natIP": "34.1.2.3"}]}],
        "serviceAccount": [
            {
                "email": "123-compute@developer.gserviceaccount.com",
                "scope": ["https://www.googleapis.com/auth/cloud-platform"],
            }
        ],
        "metadata": {"item": [{"key": "serial-port-enable", "value": "true"}]},
    }
    document = ComputeInstance.normalise(copy.deepcopy(old))
    assert document["networkInterfaces"][0]["accessConfigs"][0]["natIP"] == "34.1.2.3"
    for policy_id in (
        "pol_gcp_instance_public_ip",
        "pol_gcp_instance_default_service_account",
        "pol_gcp_instance_default_sa_full_access",
        "pol_gcp_instance_serial_port",
        "pol_gcp_instance_block_project_ssh_keys",
    ):
        assert POLICIES[policy_id].fails(document), policy_id
    blocked = ComputeInstance.normalise(
        {"name": "b", "metadata": {"item": [{"key": "block-project-ssh-keys", "value": "TRUE"}]}}
    )
    assert not POLICIES["pol_gcp_instance_block_project_ssh_keys"].fails(blocked)


def test_current_spellings_win_over_old_ones():
    document = ComputeInstance.normalise({"metadata": {"items": [{"key": "a"}], "item": [{"key": "b"}]}})
    assert document["metadata"]["items"] == [{"key": "a"}]


@pytest.mark.parametrize(
    "policy_id", ["pol_gcp_firewall_ssh_open", "pol_gcp_firewall_rdp_open", "pol_gcp_firewall_all_open"]
)
def test_firewall_examples_carry_what_shaping_derives(policy_id):
    """The examples hold `internetIngress` as the collector derives it from the rule alone (the
    rdp pass example is the one shadowed by a deny of its network)."""
    for kind, example in POLICIES[policy_id].examples.items():
        raw = copy.deepcopy(example)
        expected = raw.pop("internetIngress")
        others = (
            []
            if raw["name"] != "allow-rdp-shadowed"
            else [{**DENY_SSH, "denied": [{"IPProtocol": "tcp", "ports": ["3389"]}]}]
        )
        assert internet_ingress(raw, [raw, *others]) == expected, kind


def test_a_service_account_key_age_is_counted_from_its_valid_after_time():
    from datetime import UTC, datetime

    from shared.inventory.collectors.gcp.iam import IamServiceAccountKey

    now = datetime(2024, 4, 1, 3, 4, 5, tzinfo=UTC)
    key = {"keyType": "USER_MANAGED", "validAfterTime": "2024-01-02T03:04:05Z"}
    assert IamServiceAccountKey.normalise(dict(key), now=now)["ageDays"] == 90
    policy = POLICIES["pol_gcp_sa_key_rotated_90_days"]
    assert policy.fails(IamServiceAccountKey.normalise(dict(key), now=now)) is False  # 90 days: still in time
    assert policy.fails(IamServiceAccountKey.normalise(dict(key), now=now.replace(day=2))) is True
    assert not policy.applies({**key, "keyType": "SYSTEM_MANAGED"})  # Google rotates its own keys
    assert "ageDays" in IamServiceAccountKey.volatile and IamServiceAccountKey.clock_dependent
