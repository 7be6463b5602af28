"""GCP resource types added for issue 19, shaped from real-shape Cloud Asset Inventory fixtures
(tests/fixtures/gcp/<type>.json, each naming its source) and held against every policy of their type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.fakes.gcp import FakeAssetInventory, StoredAsset
from shared.inventory.collectors.gcp.apikeys import ApiKey
from shared.inventory.collectors.gcp.engine import from_export
from shared.inventory.collectors.gcp.monitoring import EVENTS, ProjectLogAlerts
from shared.inventory.collectors.gcp.run import RunService
from shared.inventory.collectors.providers import is_global, resource_types, uid_prefix
from shared.policies.policy import builtin_policies
from tests.shared.inventory.collectors.test_gcp import make_collector
from tests.shared.inventory.collectors.test_gcp_shapes import ORIGINAL_POLICIES

FIXTURES = Path(__file__).parents[3] / "fixtures" / "gcp"
NOW = datetime(2024, 6, 1, tzinfo=UTC)  # the API key fixtures' ages are read against this day

# type -> display names of the fixture's compliant and non-compliant asset
TYPES = {
    "gcp.dns.managed-zone": ("acme-example", "legacy-example"),
    "gcp.dns.policy": ("prod-dns", "dev-dns"),
    "gcp.compute.project": ("acme-prod", "acme-legacy"),
    "gcp.compute.ssl-policy": ("modern-tls", "legacy-tls"),
    "gcp.compute.target-https-proxy": ("web-https-proxy", "old-https-proxy"),
    "gcp.compute.backend-service": ("web-backend", "api-backend"),
    "gcp.run.service": ("orders-api", "public-site"),
    "gcp.run.service-iam-policy": ("orders-api", "public-site"),
    "gcp.cloudfunctions.function": ("resize-image", "webhook"),
    "gcp.cloudfunctions.function-iam-policy": ("resize-image", "webhook"),
    "gcp.pubsub.topic": ("orders", "events"),
    "gcp.pubsub.topic-iam-policy": ("orders", "events"),
    "gcp.bigquery.table": ("sales.orders", "staging.orders"),
    "gcp.dataproc.cluster": ("etl", "adhoc"),
    "gcp.apikeys.key": ("maps-web", "old-unrestricted"),
    "gcp.secretmanager.secret": ("db-password", "legacy-token"),
    "gcp.redis.instance": ("cache", "sessions"),
    "gcp.monitoring.alert-policy": ("CIS log-based alerts", "Old change alerts"),
    "gcp.compute.instance-template": ("web-template-v3", "nat-template"),
    "gcp.artifactregistry.repository": ("apps", "public-images"),
    "gcp.artifactregistry.repository-iam-policy": ("apps", "public-images"),
    "gcp.orgpolicy.policy": ("iam.disableServiceAccountKeyCreation", "compute.requireOsLogin"),
    "gcp.resourcemanager.project-duty-separation": ("123456789012", "210987654321"),
}


def fixture(resource_type: str) -> dict:
    return json.loads((FIXTURES / f"{resource_type}.json").read_text())


def shaped(resource_type: str) -> dict[str, object]:
    """The fixture's assets as the upload path shapes them, by expected verdict."""
    data = fixture(resource_type)
    resources = {r.uid: r for r in from_export(data["assets"]) if r.resource_type == resource_type}
    uid = resource_types.get(resource_type).uid
    return {verdict: resources[uid(name)] for name, verdict in data["expect"].items()}


def documents(resource_type: str) -> dict[str, dict]:
    by_verdict = {verdict: resource.document for verdict, resource in shaped(resource_type).items()}
    if resource_type == "gcp.apikeys.key":  # ages depend on the day: read them against a fixed one
        raw = {a["name"]: a["resource"]["data"] for a in fixture(resource_type)["assets"]}
        expect = fixture(resource_type)["expect"]
        by_verdict = {verdict: ApiKey.normalise(dict(raw[name]), now=NOW) for name, verdict in expect.items()}
    return by_verdict


@pytest.mark.parametrize("resource_type", TYPES)
def test_fixture_names_its_source_and_is_a_cloud_asset_inventory_asset(resource_type):
    data = fixture(resource_type)
    assert "https://cloud.google.com/" in data["source"]
    for asset in data["assets"]:
        assert asset["name"].startswith("//") and asset["assetType"] and asset["ancestors"] and asset["updateTime"]
        if "resource" in asset:
            assert set(asset["resource"]) >= {"version", "discoveryDocumentUri", "discoveryName", "parent", "data"}
        else:
            assert asset["iamPolicy"]["bindings"]


@pytest.mark.parametrize("resource_type", TYPES)
def test_type_is_shaped_from_its_real_shape_fixture(resource_type):
    spec = resource_types.get(resource_type)
    assert spec.asset_type == fixture(resource_type)["assets"][0]["assetType"]
    assert is_global(resource_type) and uid_prefix(resource_type) == "//"
    resources = shaped(resource_type)
    assert {verdict: r.name for verdict, r in resources.items()} == dict(
        zip(("pass", "fail"), TYPES[resource_type], strict=True)
    )
    for resource in resources.values():
        assert resource.document and resource.id and resource.region


@pytest.mark.parametrize("resource_type", TYPES)
def test_every_policy_of_the_type_passes_and_fails_on_the_fixture(resource_type):
    policies = [p for p in builtin_policies().values() if p.resource_type == resource_type]
    assert policies, f"{resource_type} has no policy"
    docs = documents(resource_type)
    for policy in policies:
        assert policy.fails(docs["pass"]) is False, policy.id
        assert policy.fails(docs["fail"]) is True, policy.id


def live(resource_type: str, project_number: str) -> list:
    """The fixture's assets of one project listed by the live collector from the fake Cloud Asset Inventory."""
    stored = [
        StoredAsset(a["ancestors"][0].split("/")[1], a["ancestors"][0].split("/")[1], a)
        for a in fixture(resource_type)["assets"]
    ]
    with FakeAssetInventory(stored) as fake:
        collector, _ = make_collector(fake.url, {"project_id": project_number})
        return [r for page in collector.pages(resource_type, "global") for r in page]


@pytest.mark.parametrize("resource_type", TYPES)
def test_live_listing_shapes_the_fixture_as_the_upload_does(resource_type):
    numbers = {a["ancestors"][0].split("/")[1] for a in fixture(resource_type)["assets"]}
    by_uid = {r.uid: r for number in numbers for r in live(resource_type, number)}
    for resource in shaped(resource_type).values():
        listed = by_uid[resource.uid]
        assert (listed.name, listed.resource_type, listed.region) == (
            resource.name,
            resource.resource_type,
            resource.region,
        )
        assert listed.document == resource.document


def test_project_log_alerts_are_derived_from_log_metrics_and_alert_policies():
    (good,) = live("gcp.monitoring.project-log-alerts", "123456789012")
    (bad,) = live("gcp.monitoring.project-log-alerts", "210987654321")
    assert (
        good.name == "acme-prod" and good.uid == "//cloudresourcemanager.googleapis.com/projects/123456789012#logAlerts"
    )
    assert len(good.document["logMetrics"]) == 8 and len(good.document["alertPolicies"]) == 1
    assert good.document["logAlerts"] == dict.fromkeys(EVENTS, True)
    # acme-legacy has every metric, but its one alert policy is disabled.
    assert bad.document["logAlerts"] == dict.fromkeys(EVENTS, False)
    policies = [p for p in builtin_policies().values() if p.resource_type == "gcp.monitoring.project-log-alerts"]
    assert len(policies) == len(EVENTS)
    for policy in policies:
        assert policy.fails(good.document) is False and policy.fails(bad.document) is True, policy.id


def test_uploads_shape_project_log_alerts_as_the_live_collector_does():
    uploaded = {
        r.name: r
        for r in from_export(fixture("gcp.monitoring.project-log-alerts")["assets"])
        if r.resource_type == "gcp.monitoring.project-log-alerts"
    }
    for number in ("123456789012", "210987654321"):
        (listed,) = live("gcp.monitoring.project-log-alerts", number)
        assert uploaded[listed.name].uid == listed.uid and uploaded[listed.name].document == listed.document


def test_a_log_alert_needs_the_whole_cis_filter_and_an_enabled_policy():
    assets = fixture("gcp.monitoring.project-log-alerts")["assets"]
    metrics = [
        a["resource"]["data"] for a in assets if a["name"].startswith("//logging.googleapis.com/projects/210987654321/")
    ]
    watching = [a["resource"]["data"] for a in assets if a["name"].endswith("/alertPolicies/14823659183749201938")]
    # acme-legacy's firewall metric counts inserts only: with an enabled policy on every metric,
    # that one event alone stays unalerted.
    document = ProjectLogAlerts.normalise({"logMetrics": metrics, "alertPolicies": watching})
    assert document["logAlerts"] == {event: event != "firewallRules" for event in EVENTS}
    assert ProjectLogAlerts.normalise({})["logAlerts"] == dict.fromkeys(EVENTS, False)


def test_run_service_ingress_is_lifted_from_the_annotation():
    docs = documents("gcp.run.service")
    assert docs["pass"]["ingress"] == "internal-and-cloud-load-balancing" and docs["fail"]["ingress"] == "all"
    # Cloud Run Admin API v2 spells it as an enum on the resource itself.
    assert RunService.normalise({"ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY"})["ingress"] == "internal"
    assert "ingress" not in RunService.normalise({"metadata": {"name": "svc", "annotations": {}}})


def test_api_key_age_is_derived_from_its_creation_time():
    docs = documents("gcp.apikeys.key")
    assert docs["pass"]["ageDays"] == 30 and docs["fail"]["ageDays"] == 575
    assert "ageDays" not in ApiKey.normalise({"createTime": "not a time"}, now=NOW)
    # The upload path derives it against today.
    assert all(isinstance(r.document["ageDays"], int) for r in shaped("gcp.apikeys.key").values())
    assert "ageDays" in resource_types.get("gcp.apikeys.key").volatile


def test_secret_rotation_period_is_exposed_in_seconds():
    docs = documents("gcp.secretmanager.secret")
    assert docs["pass"]["rotation"]["rotationPeriodSeconds"] == 2592000 and "rotation" not in docs["fail"]


def test_iam_policy_types_get_uids_of_their_own():
    for resource_type in (
        "gcp.artifactregistry.repository-iam-policy",
        "gcp.run.service-iam-policy",
        "gcp.cloudfunctions.function-iam-policy",
        "gcp.pubsub.topic-iam-policy",
    ):
        assert all(r.uid.endswith("#iamPolicy") for r in shaped(resource_type).values())


def test_bigquery_tables_are_named_by_dataset_and_table():
    resources = shaped("gcp.bigquery.table")
    assert resources["pass"].name == "sales.orders" and resources["pass"].region == "eu"


def test_instance_templates_read_older_spellings_as_instances_do():
    template = fixture("gcp.compute.instance-template")["assets"][1]["resource"]["data"]
    interface = dict(template["properties"]["networkInterfaces"][0])
    interface["accessConfig"] = interface.pop("accessConfigs")
    old = {**template, "properties": {**template["properties"], "networkInterface": [interface]}}
    del old["properties"]["networkInterfaces"]
    document = resource_types.get("gcp.compute.instance-template").normalise(old)
    assert document["properties"]["networkInterfaces"][0]["accessConfigs"][0]["type"] == "ONE_TO_ONE_NAT"
    assert builtin_policies()["pol_gcp_instance_template_public_ip"].fails(document) is True


def test_org_policy_names_its_constraint():
    documents = {r.document["constraint"] for r in shaped("gcp.orgpolicy.policy").values()}
    assert documents == {"iam.disableServiceAccountKeyCreation", "compute.requireOsLogin"}


def test_duty_conflicts_name_the_principals_holding_both_roles():
    docs = documents("gcp.resourcemanager.project-duty-separation")
    assert docs["pass"]["dutyConflicts"] == {"serviceAccountAdminAndUser": [], "kmsAdminAndKeyUser": []}
    # A conditional binding still grants its role: carol's decrypter binding counts.
    assert docs["fail"]["dutyConflicts"] == {
        "serviceAccountAdminAndUser": ["user:bob@acme.example"],
        "kmsAdminAndKeyUser": ["user:carol@acme.example"],
    }


# Policies added to the original types, held against those types' real-shape fixtures
# (tests/fixtures/gcp/<type>.json): resource name -> the added policies it fails (it passes the rest).
ADDED_POLICY_FAILURES = {
    "gcp.compute.instance": {
        "web-1": {"pol_gcp_instance_confidential_vm", "pol_gcp_instance_secure_boot"},
        "app-1": {"pol_gcp_instance_confidential_vm"},
    },
    "gcp.compute.network": {
        "default": {"pol_gcp_network_auto_mode"},
        "prod-vpc": set(),
        "legacy-net": set(),
    },
    "gcp.container.cluster": {
        "prod-cluster": {
            "pol_gcp_gke_binary_authorization",
            "pol_gcp_gke_control_plane_authorized_networks",
            "pol_gcp_gke_intranode_visibility",
            "pol_gcp_gke_release_channel",
            "pol_gcp_gke_secrets_encryption",
            "pol_gcp_gke_workload_identity",
        },
        "legacy-cluster": {
            "pol_gcp_gke_binary_authorization",
            "pol_gcp_gke_control_plane_authorized_networks",
            "pol_gcp_gke_intranode_visibility",
            "pol_gcp_gke_network_policy",
            "pol_gcp_gke_release_channel",
            "pol_gcp_gke_secrets_encryption",
            "pol_gcp_gke_shielded_nodes",
            "pol_gcp_gke_workload_identity",
        },
    },
    "gcp.resourcemanager.project-iam-policy": {
        "example-prod": set(),
    },
    "gcp.sql.instance": {
        "orders-db": {
            "pol_gcp_sql_cmek",
            "pol_gcp_sql_high_availability",
            "pol_gcp_sql_postgres_log_connections",
            "pol_gcp_sql_postgres_log_disconnections",
            "pol_gcp_sql_postgres_log_statement",
            "pol_gcp_sql_postgres_pgaudit",
        },
        "reporting-db": {
            "pol_gcp_sql_cmek",
            "pol_gcp_sql_high_availability",
            "pol_gcp_sql_mysql_local_infile_off",
            "pol_gcp_sql_mysql_skip_show_database",
        },
        "orders-db-replica": {
            "pol_gcp_sql_cmek",
            "pol_gcp_sql_high_availability",
            "pol_gcp_sql_postgres_log_connections",
            "pol_gcp_sql_postgres_log_disconnections",
            "pol_gcp_sql_postgres_log_statement",
            "pol_gcp_sql_postgres_pgaudit",
        },
    },
    "gcp.storage.bucket": {
        "example-prod-assets": {
            "pol_gcp_bucket_access_logging",
            "pol_gcp_bucket_cmek",
            "pol_gcp_bucket_retention_policy",
            "pol_gcp_bucket_versioning",
        },
        "example-prod-logs": {
            "pol_gcp_bucket_access_logging",
            "pol_gcp_bucket_cmek",
            "pol_gcp_bucket_retention_locked",
            "pol_gcp_bucket_versioning",
        },
    },
}


@pytest.mark.parametrize("resource_type", ADDED_POLICY_FAILURES)
def test_added_policies_of_original_types_meet_their_real_shape_fixtures(resource_type):
    added = [
        p for p in builtin_policies().values() if p.resource_type == resource_type and p.id not in ORIGINAL_POLICIES
    ]
    assert added
    documents = {
        r.name: r.document for r in from_export(fixture(resource_type)["assets"]) if r.resource_type == resource_type
    }
    assert set(documents) == set(ADDED_POLICY_FAILURES[resource_type])
    for name, failing in ADDED_POLICY_FAILURES[resource_type].items():
        assert {p.id for p in added if p.fails(documents[name])} == failing, name
