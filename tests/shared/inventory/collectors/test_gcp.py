"""The GCP collector: the real Cloud Asset Inventory client (REST) against the local fake."""

from __future__ import annotations

import base64
import functools
import json
from types import SimpleNamespace

import google.auth
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError

from devkit.fakes.gcp import PROJECT, PROJECT_NUMBER, FakeAssetInventory, seed_estate
from shared.inventory.collectors.base import CollectionError
from shared.inventory.collectors.gcp.declare import integral
from shared.inventory.collectors.gcp.engine import GcpCollector
from shared.inventory.collectors.providers import collectors, is_global, resource_types, uid_prefix
from shared.platform.settings import Settings
from tests.conftest import free_port

GCP_TYPES = sorted(name for name in resource_types if name.startswith("gcp."))
SEEDED = {
    "gcp.bigquery.dataset": 2,
    "gcp.compute.disk": 2,
    "gcp.compute.firewall": 8,
    "gcp.compute.instance": 4,
    "gcp.compute.network": 3,
    "gcp.compute.subnetwork": 3,
    "gcp.container.cluster": 2,
    "gcp.iam.service-account": 3,
    "gcp.iam.service-account-key": 2,
    "gcp.kms.crypto-key": 4,
    "gcp.kms.crypto-key-iam-policy": 2,
    "gcp.logging.sink": 3,
    "gcp.resourcemanager.project": 1,
    "gcp.resourcemanager.project-iam-policy": 1,
    "gcp.sql.instance": 3,
    "gcp.storage.bucket": 3,
    "gcp.storage.bucket-iam-policy": 3,
}


@pytest.fixture()
def fake():
    with FakeAssetInventory(seed_estate()) as server:
        yield server


class Sleeps(list):
    """An injectable sleep that records the back-off instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_collector(
    endpoint_url: str | None, credentials: dict | None = None, *, page_size: int = 500, max_attempts: int = 3
) -> tuple[GcpCollector, Sleeps]:
    sleeps = Sleeps()
    account = SimpleNamespace(endpoint_url=endpoint_url, regions=[])
    settings = Settings(page_size=page_size, aws_max_attempts=max_attempts)
    credentials = {"project_id": PROJECT} if credentials is None else credentials
    return GcpCollector(account, credentials, settings, sleep=sleeps), sleeps


def listed(collector: GcpCollector, resource_type: str) -> list:
    return [resource for page in collector.pages(resource_type, "global") for resource in page]


def by_name(collector: GcpCollector, resource_type: str) -> dict:
    return {resource.name: resource for resource in listed(collector, resource_type)}


def test_every_type_is_declared_and_listed(fake):
    assert set(SEEDED) <= set(GCP_TYPES)
    collector, sleeps = make_collector(fake.url)
    for resource_type in sorted(SEEDED):
        resources = listed(collector, resource_type)
        assert len(resources) == SEEDED[resource_type], resource_type
        assert {r.resource_type for r in resources} == {resource_type}
        assert all(r.uid.startswith("//") and r.id and r.name for r in resources)
        assert is_global(resource_type) and uid_prefix(resource_type) == "//"
    assert sleeps == []
    # Each listing asks for its own asset type, in the project, with the declared content type.
    firewall_call = next(r for r in fake.requests if r.get("assetTypes") == ["compute.googleapis.com/Firewall"])
    assert firewall_call["parent"] == f"projects/{PROJECT}" and firewall_call["contentType"] == ["1"]


def test_resources_carry_full_names_short_ids_and_locations(fake):
    collector, _ = make_collector(fake.url)
    bucket = by_name(collector, "gcp.storage.bucket")["acme-prod-public-assets"]
    assert bucket.uid == "//storage.googleapis.com/projects/_/buckets/acme-prod-public-assets"
    assert bucket.id == "acme-prod-public-assets" and bucket.region == "us-central1"
    assert bucket.document["iamConfiguration"]["publicAccessPrevention"] == "inherited"
    firewall = by_name(collector, "gcp.compute.firewall")["default-allow-ssh"]
    assert firewall.uid == f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/default-allow-ssh"
    assert firewall.region == "global"
    assert firewall.document["allowed"] == [{"IPProtocol": "tcp", "ports": ["22"]}]
    assert by_name(collector, "gcp.compute.instance")["web-1"].region == "us-central1-a"
    assert set(by_name(collector, "gcp.kms.crypto-key")) == {"app/disk", "app/legacy", "app/yearly", "app/signing"}
    account = by_name(collector, "gcp.iam.service-account")[f"app-runner@{PROJECT}.iam.gserviceaccount.com"]
    assert account.id == "104583927561034857731"
    key_names = set(by_name(collector, "gcp.iam.service-account-key"))
    assert f"app-runner@{PROJECT}.iam.gserviceaccount.com/6f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c" in key_names
    # Volatile fields stay in the document but out of the configuration hash.
    assert "updated" in bucket.volatile and "updated" in bucket.document


def test_paging_follows_page_tokens(fake):
    collector, _ = make_collector(fake.url, page_size=3)
    pages = list(collector.pages("gcp.compute.firewall", "global"))
    assert [len(page) for page in pages] == [3, 3, 2]
    names = [r.name for page in pages for r in page]
    assert len(names) == len(set(names)) == 8
    calls = [r for r in fake.requests if r.get("assetTypes") == ["compute.googleapis.com/Firewall"]]
    assert [c.get("pageToken") for c in calls] == [None, ["Mw=="], ["Ng=="]]
    assert {c["pageSize"][0] for c in calls} == {"3"}


def test_page_size_is_capped_at_the_api_limit(fake):
    collector, _ = make_collector(fake.url, page_size=5000)
    listed(collector, "gcp.compute.network")
    assert fake.requests[-1]["pageSize"] == ["1000"]


def test_numbers_come_back_as_ints_where_they_are_integral(fake):
    collector, _ = make_collector(fake.url)
    firewall = by_name(collector, "gcp.compute.firewall")["default-allow-ssh"].document
    assert firewall["priority"] == 65534 and type(firewall["priority"]) is int
    subnet = by_name(collector, "gcp.compute.subnetwork")["prod-app"].document
    assert subnet["logConfig"]["flowSampling"] == 0.5
    sql = by_name(collector, "gcp.sql.instance")["orders-db"].document
    retention = sql["settings"]["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"]
    assert type(retention) is int and retention == 7
    assert sql["settings"]["dataDiskSizeGb"] == "100"  # int64 fields are strings in the API's JSON
    cluster = by_name(collector, "gcp.container.cluster")["prod-cluster"].document
    assert type(cluster["currentNodeCount"]) is int


def test_integral_normalises_nested_floats():
    assert integral({"a": 1.0, "b": [2.0, 2.5, {"c": -3.0}], "d": True, "e": None, "f": "1.0"}) == {
        "a": 1,
        "b": [2, 2.5, {"c": -3}],
        "d": True,
        "e": None,
        "f": "1.0",
    }


def test_iam_policy_assets_are_documents_of_their_own(fake):
    collector, _ = make_collector(fake.url)
    (policy,) = listed(collector, "gcp.resourcemanager.project-iam-policy")
    assert policy.name == PROJECT and policy.id == PROJECT_NUMBER
    # The project resource has the same asset name: the policy's uid must not collide with it.
    (project,) = listed(collector, "gcp.resourcemanager.project")
    assert project.uid == f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}"
    assert policy.uid == project.uid + "#iamPolicy"
    assert {b["role"] for b in policy.document["bindings"]} >= {"roles/owner", "roles/iam.serviceAccountUser"}
    assert policy.document["auditConfigs"] == [
        {"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}, {"logType": "DATA_WRITE"}]}
    ]
    assert policy.document["version"] == 1 and type(policy.document["version"]) is int
    iam_call = next(r for r in fake.requests if r.get("contentType") == ["2"])
    assert iam_call["assetTypes"] == ["cloudresourcemanager.googleapis.com/Project"]
    bucket_policies = by_name(collector, "gcp.storage.bucket-iam-policy")
    members = {m for b in bucket_policies["acme-prod-public-assets"].document["bindings"] for m in b["members"]}
    assert "allUsers" in members
    # Only keys with an IAM policy of their own come back with content type IAM_POLICY.
    assert set(by_name(collector, "gcp.kms.crypto-key-iam-policy")) == {"app/disk", "app/legacy"}


def test_project_document_carries_its_log_sinks(fake):
    collector, _ = make_collector(fake.url)
    (project,) = listed(collector, "gcp.resourcemanager.project")
    assert project.name == PROJECT
    assert [sink["name"] for sink in project.document["logSinks"]] == ["_Required", "_Default", "audit-to-bigquery"]


def test_kms_rotation_period_is_exposed_in_seconds(fake):
    collector, _ = make_collector(fake.url)
    keys = by_name(collector, "gcp.kms.crypto-key")
    assert keys["app/disk"].document["rotationPeriodSeconds"] == 7_776_000
    assert keys["app/yearly"].document["rotationPeriodSeconds"] == 31_536_000
    assert "rotationPeriodSeconds" not in keys["app/legacy"].document


def test_throttled_call_is_retried_after_a_back_off(fake):
    collector, sleeps = make_collector(fake.url, max_attempts=3)
    fake.throttle(2)
    assert len(listed(collector, "gcp.compute.firewall")) == 8
    assert sleeps == [0.5, 1.0] and fake.calls == 3


def test_throttling_mid_listing_resumes_from_the_page_token(fake):
    collector, sleeps = make_collector(fake.url, page_size=2)
    pages = collector.pages("gcp.compute.instance", "global")
    first = next(pages)
    fake.throttle(1, status=503)  # the next page answers 503 once
    rest = [r for page in pages for r in page]
    names = [r.name for r in first + rest]
    assert len(names) == len(set(names)) == 4
    assert sleeps == [0.5]
    tokens = [r.get("pageToken") for r in fake.requests]
    assert tokens == [None, ["Mg=="], ["Mg=="]]


def test_throttling_that_persists_is_a_typed_error(fake):
    collector, sleeps = make_collector(fake.url, max_attempts=3)
    fake.throttle(10)
    with pytest.raises(CollectionError) as error:
        listed(collector, "gcp.sql.instance")
    assert error.value.code == "Throttled"
    assert error.value.resource_type == "gcp.sql.instance" and error.value.region == "global"
    assert error.value.message == (
        f"still throttled after 3 attempts: Cloud Asset Inventory listing of projects/{PROJECT} failed: "
        "HTTP 429 TooManyRequests"
    )
    assert sleeps == [0.5, 1.0] and fake.calls == 3


def test_denied_project_is_permission_denied(fake):
    fake.deny(PROJECT)
    collector, sleeps = make_collector(fake.url)
    with pytest.raises(CollectionError) as error:
        listed(collector, "gcp.storage.bucket")
    assert error.value.as_dict() == {
        "code": "PermissionDenied",
        "message": f"Cloud Asset Inventory listing of projects/{PROJECT} failed: HTTP 403 PermissionDenied; "
        "the credentials do not have permission for it",
        "resource_type": "gcp.storage.bucket",
        "region": "global",
    }
    assert sleeps == [] and fake.calls == 1


def test_rejected_credentials_are_authentication_failed(fake):
    fake.reject(PROJECT)
    # Anonymous credentials cannot be refreshed after the 401; a service account key is refreshed
    # and refused again. Either way the listing fails as an authentication problem.
    for credentials in ({"project_id": PROJECT}, {"service_account_json": service_account_json(PROJECT)}):
        collector, sleeps = make_collector(fake.url, credentials=credentials)
        with pytest.raises(CollectionError) as error:
            listed(collector, "gcp.compute.firewall")
        assert error.value.code == "AuthenticationFailed", error.value
        assert error.value.resource_type == "gcp.compute.firewall" and sleeps == []


def test_related_listing_errors_name_the_type_listed(fake):
    fake.deny(PROJECT)
    collector, _ = make_collector(fake.url)
    with pytest.raises(CollectionError) as error:
        listed(collector, "gcp.resourcemanager.project")
    assert (error.value.code, error.value.resource_type) == ("PermissionDenied", "gcp.resourcemanager.project")


def test_unreachable_endpoint_is_a_connection_error():
    collector, sleeps = make_collector(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(CollectionError) as error:
        listed(collector, "gcp.compute.network")
    assert error.value.code == "ConnectionError" and error.value.resource_type == "gcp.compute.network"
    assert sleeps == []


def test_project_id_is_required(fake):
    with pytest.raises(CollectionError) as error:
        make_collector(fake.url, credentials={})
    assert error.value.code == "InvalidCredentials" and "project_id" in error.value.message


def test_broken_service_account_json_is_invalid_credentials(fake):
    with pytest.raises(CollectionError) as error:
        make_collector(fake.url, credentials={"service_account_json": "{not json", "project_id": PROJECT})
    assert error.value.code == "InvalidCredentials"
    with pytest.raises(CollectionError) as error:
        make_collector(fake.url, credentials={"service_account_json": json.dumps({"type": "service_account"})})
    assert error.value.code == "InvalidCredentials"


@functools.cache
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def service_account_json(project_id: str | None) -> str:
    """A service account key file as the console downloads it, with a freshly generated RSA key."""
    pem = private_key_pem()
    info = {
        "type": "service_account",
        "private_key_id": "3f9a1c0e5b7d",
        "private_key": pem,
        "client_email": f"policycortex-scanner@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "109876543210987654321",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    if project_id:
        info["project_id"] = project_id
    return json.dumps(info)


def test_service_account_key_signs_the_calls(fake):
    collector, _ = make_collector(fake.url, credentials={"service_account_json": service_account_json(PROJECT)})
    assert collector.project == PROJECT  # taken from the key when the credentials do not name one
    assert len(listed(collector, "gcp.compute.network")) == 3
    # A self-signed JWT for the cloud-platform scope, no token exchange needed.
    scheme, token = fake.authorization.split(" ")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert scheme == "Bearer"
    assert claims["iss"] == f"policycortex-scanner@{PROJECT}.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"


def test_project_in_credentials_wins_over_the_key(fake):
    credentials = {"service_account_json": service_account_json("other-project"), "project_id": PROJECT}
    collector, _ = make_collector(fake.url, credentials=credentials)
    assert collector.project == PROJECT


def test_application_default_credentials_without_endpoint(monkeypatch):
    monkeypatch.setattr(google.auth, "default", lambda scopes: (AnonymousCredentials(), "adc-project"))
    collector, _ = make_collector(None, credentials={})
    assert collector.project == "adc-project" and collector.credential_kind == "application default credentials"

    def no_credentials(scopes):
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_credentials)
    with pytest.raises(CollectionError) as error:
        make_collector(None, credentials={"project_id": PROJECT})
    assert error.value.code == "NoCredentials"


def test_verify_passes_with_access(fake):
    collector, _ = make_collector(fake.url)
    checks = collector.verify()
    assert [(c["check"], c["ok"]) for c in checks] == [
        ("credentials", True),
        ("list-resources", True),
        ("list-iam-policies", True),
    ]
    assert PROJECT in checks[0]["message"]
    assert {r["pageSize"][0] for r in fake.requests} == {"1"}


def test_verify_reports_denied_access(fake):
    fake.deny(PROJECT)
    collector, _ = make_collector(fake.url)
    checks = {c["check"]: c for c in collector.verify()}
    assert checks["credentials"]["ok"] is True
    assert checks["list-resources"]["ok"] is False
    assert checks["list-resources"]["message"].startswith("PermissionDenied: ")
    assert "the credentials do not have permission" in checks["list-resources"]["message"]
    assert checks["list-iam-policies"]["ok"] is False


def test_collector_is_registered_for_gcp():
    assert collectors.get("gcp") is GcpCollector
    account = SimpleNamespace(endpoint_url="http://127.0.0.1:9", regions=["us-central1"])
    collector = GcpCollector(account, {"project_id": PROJECT}, Settings())
    assert collector.regions() == ["global"]  # one listing per project, whatever regions are configured
