"""The Azure collector: the real Resource Graph SDK client against the local fake ARM server."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from azure.identity import ClientSecretCredential

from devkit.fakes.azure import DENIED_SUBSCRIPTION, GROUP, SUBSCRIPTION, FakeAzure, demo_estate, row
from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.azure.engine import AzureCollector
from shared.inventory.collectors.base import CollectionError
from shared.inventory.collectors.providers import collector_for, is_global, resource_types, uid_prefix
from shared.platform.settings import Settings
from tests.conftest import free_port

AZURE_TYPES = sorted(name for name, spec in resource_types.items() if spec.provider == "azure")
SETTINGS = Settings(page_size=5, aws_max_attempts=3, detail_concurrency=4, outbound_allowlist=("127.0.0.1",))


@pytest.fixture()
def fake():
    rows, details = demo_estate()
    with FakeAzure(rows, details) as server:
        yield server


class Sleeps(list):
    """Records the back-off instead of waiting for it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_collector(url: str | None, *, sleep=None, settings: Settings = SETTINGS, **credentials) -> AzureCollector:
    credentials = {"access_token": "t", "subscription_id": SUBSCRIPTION, **credentials}
    account = SimpleNamespace(endpoint_url=url, regions=[])
    return AzureCollector(account, credentials, settings, sleep=Sleeps() if sleep is None else sleep)


def listed(collector: AzureCollector, resource_type: str) -> list:
    return [resource for page in collector.pages(resource_type, "global") for resource in page]


def test_every_type_is_declared_as_data():
    assert len(AZURE_TYPES) >= 12
    for name in AZURE_TYPES:
        spec = resource_types.get(name)
        assert issubclass(spec, AzureResource)
        assert spec.native_type == spec.native_type.lower()
        assert is_global(name) and uid_prefix(name) == "/subscriptions/"


def test_every_type_is_listed_with_its_rows(fake):
    collector = make_collector(fake.url)
    assert collector.regions() == ["global"]
    for name in AZURE_TYPES:
        native = resource_types.get(name).native_type
        expected = sorted(r["id"] for r in fake.rows if r["type"] == native)
        resources = listed(collector, name)
        assert sorted(r.uid for r in resources) == expected, name
        assert all(r.resource_type == name and r.document["type"] == native for r in resources)


def test_a_row_becomes_a_resource_with_its_details(fake):
    collector = make_collector(fake.url)
    servers = {r.name: r for r in listed(collector, "azure.sql.server")}
    legacy = servers["sql-legacy"]
    assert (
        legacy.uid
        == legacy.id
        == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Sql/servers/sql-legacy"
    )
    assert legacy.region == "westeurope"
    assert legacy.document["properties"]["publicNetworkAccess"] == "Enabled"
    assert legacy.document["auditingSettings"]["state"] == "Disabled"
    assert [rule["name"] for rule in legacy.document["firewallRules"]] == ["AllowAllWindowsAzureIps"]
    databases = {r.name: r for r in listed(collector, "azure.sql.database")}
    assert databases["appdb"].document["transparentDataEncryption"] == {"state": "Enabled"}
    assert "transparentDataEncryption" not in databases["master"].document  # 404: nothing attached
    (subscription,) = listed(collector, "azure.resources.subscription")
    assert subscription.name == "Contoso Production" and subscription.region == "global"
    assert len(subscription.document["activityLogAlerts"]) == 4


def test_rows_are_normalised_on_the_live_path(fake):
    """The collector derives what policies read (here the ports an NSG opens to the internet) on
    live rows as on uploaded ones."""
    groups = {r.name: r.document["internetOpenPorts"] for r in listed(make_collector(fake.url), "azure.network.nsg")}
    assert groups["nsg-db"] == {"tcp": [], "udp": []}  # the Deny from Internet comes first; the Allow is from the VNet
    assert groups["nsg-jump"]["tcp"] == ["22", "3389", "5985-5986"]
    assert groups["nsg-ops"] == {"tcp": ["0-65535"], "udp": ["0-65535"]}


def test_paging_follows_skip_tokens(fake):
    fake.seed(
        row(SUBSCRIPTION, GROUP, "Microsoft.Storage/storageAccounts", f"stbulk{i:02d}", properties={})
        for i in range(12)
    )
    fake.seed([row(DENIED_SUBSCRIPTION, GROUP, "Microsoft.Storage/storageAccounts", "stother", properties={})])
    collector = make_collector(fake.url)
    pages = list(collector.pages("azure.storage.account", "global"))
    assert [len(page) for page in pages] == [5, 5, 5]
    names = [r.name for page in pages for r in page]
    assert len(set(names)) == 15 and "stother" not in names  # another subscription's rows stay out
    queries = fake.queries
    assert len(queries) == 3
    assert queries[0]["subscriptions"] == [SUBSCRIPTION]
    assert queries[0]["query"] == "Resources | where type =~ 'microsoft.storage/storageaccounts' | order by id asc"
    assert queries[0]["options"]["$top"] == 5 and queries[0]["options"]["resultFormat"] == "objectArray"
    assert "$skipToken" not in queries[0]["options"]
    assert all(q["options"]["$skipToken"] for q in queries[1:])
    assert len({q["options"]["$skipToken"] for q in queries[1:]}) == 2


def test_a_truncated_result_is_an_error_not_a_short_inventory(fake):
    fake.truncated = True
    pages = make_collector(fake.url).pages("azure.network.nsg", "global")
    assert len(next(pages)) == 4  # fits in one page: nothing was cut
    pages = make_collector(fake.url, settings=Settings(page_size=2)).pages("azure.network.nsg", "global")
    assert len(next(pages)) == 2
    with pytest.raises(CollectionError) as error:
        next(pages)
    assert error.value.code == "ResultTruncated" and error.value.resource_type == "azure.network.nsg"


def test_detail_lists_follow_next_links(fake):
    fake.list_page_size = 1
    collector = make_collector(fake.url)
    servers = {r.name: r for r in listed(collector, "azure.sql.server")}
    assert [rule["name"] for rule in servers["sql-reporting"].document["firewallRules"]] == ["office", "AllowAll"]
    (subscription,) = listed(collector, "azure.resources.subscription")
    assert len(subscription.document["activityLogAlerts"]) == 4


def test_throttling_then_success_backs_off_as_told(fake):
    sleeps = Sleeps()
    collector = make_collector(fake.url, sleep=sleeps)
    fake.throttle(2, retry_after="7")
    assert len(listed(collector, "azure.keyvault.vault")) == 3
    assert sleeps == [7.0, 7.0]  # the server's Retry-After
    assert fake.query_count == 3  # no retries of the SDK's own: every attempt is ours
    fake.throttle(2, retry_after=None)
    assert len(listed(collector, "azure.keyvault.vault")) == 3
    assert sleeps[2:] == [0.5, 1.0]  # exponential without Retry-After


def test_retry_after_is_capped(fake):
    sleeps = Sleeps()
    fake.throttle(1, retry_after="3600")
    assert len(listed(make_collector(fake.url, sleep=sleeps), "azure.keyvault.vault")) == 3
    assert sleeps == [60.0]


def test_persistent_throttling_is_an_error(fake):
    sleeps = Sleeps()
    fake.throttle(100)
    with pytest.raises(CollectionError) as error:
        listed(make_collector(fake.url, sleep=sleeps), "azure.storage.account")
    assert error.value.code == "Throttled"
    assert (error.value.resource_type, error.value.region) == ("azure.storage.account", "global")
    assert fake.query_count == SETTINGS.aws_max_attempts and len(sleeps) == SETTINGS.aws_max_attempts - 1


def test_throttled_detail_calls_are_retried_too(fake):
    sleeps = Sleeps()
    fake.throttle(1, retry_after="2", method="GET")
    apps = listed(make_collector(fake.url, sleep=sleeps), "azure.web.app")
    assert {r.name: r.document["siteConfig"]["ftpsState"] for r in apps} == {
        "app-legacy": "AllAllowed",
        "app-portal": "Disabled",
    }
    assert sleeps == [2.0]
    assert sum(1 for method, path in fake.calls if path.endswith("/config/web")) == 3


def test_denied_subscription_is_an_authorization_error(fake):
    fake.deny(SUBSCRIPTION)
    with pytest.raises(CollectionError) as error:
        listed(make_collector(fake.url), "azure.compute.vm")
    assert error.value.code == "AuthorizationFailed"
    assert SUBSCRIPTION in error.value.message
    assert error.value.as_dict()["resource_type"] == "azure.compute.vm"


def test_rejected_token_is_an_authentication_error(fake):
    with pytest.raises(CollectionError) as error:
        listed(make_collector(fake.url, access_token="expired"), "azure.compute.vm")
    assert error.value.code == "AuthenticationFailed"
    assert fake.query_count == 1  # never retried


def test_unreachable_endpoint_is_a_connection_error():
    with pytest.raises(CollectionError) as error:
        listed(make_collector(f"http://127.0.0.1:{free_port()}"), "azure.network.nsg")
    assert error.value.code == "ConnectionError"
    assert (error.value.resource_type, error.value.region) == ("azure.network.nsg", "global")


def test_subscription_id_is_required():
    with pytest.raises(CollectionError) as error:
        make_collector("http://127.0.0.1:9", subscription_id="")
    assert error.value.code == "InvalidCredentials" and "subscription_id" in error.value.message


def test_credentials_are_a_service_principal_or_a_token_never_the_ambient_chain():
    with pytest.raises(CollectionError) as error:
        make_collector("http://127.0.0.1:9", access_token="", tenant_id="t", client_id="c")
    assert error.value.code == "InvalidCredentials"
    principal = make_collector(None, access_token="", tenant_id="t", client_id="c", client_secret="s")
    assert isinstance(principal.credential, ClientSecretCredential)


def test_collector_for_builds_the_azure_collector(fake):
    class Vault:
        def decrypt(self, blob):
            return {"access_token": "t", "subscription_id": SUBSCRIPTION}

    account = SimpleNamespace(
        provider="azure", collection="api", endpoint_url=fake.url, regions=[], credentials_encrypted=b"x"
    )
    collector = collector_for(account, SimpleNamespace(vault=Vault(), settings=SETTINGS))
    assert isinstance(collector, AzureCollector) and collector.regions() == ["global"]


def test_verify_reports_each_check(fake):
    assert make_collector(fake.url).verify() == [
        {"check": "credentials", "ok": True, "message": "token accepted"},
        {"check": "resource graph", "ok": True, "message": f"subscription {SUBSCRIPTION} is readable"},
    ]
    rejected = make_collector(fake.url, access_token="expired").verify()
    assert [(c["check"], c["ok"]) for c in rejected] == [("credentials", False)]
    fake.deny(SUBSCRIPTION)
    denied = make_collector(fake.url).verify()
    assert [(c["check"], c["ok"]) for c in denied] == [("credentials", True), ("resource graph", False)]
    assert denied[1]["message"].startswith("AuthorizationFailed: ")
    invisible = make_collector(fake.url, subscription_id="11111111-2222-3333-4444-555555555555").verify()
    assert invisible[1]["ok"] is False and "not visible" in invisible[1]["message"]


def test_config_hash_ignores_volatile_fields(fake):
    vm = next(r for r in listed(make_collector(fake.url), "azure.compute.vm") if r.name == "vm-web-01")

    def changed(key: str, value) -> dict:
        return {**vm.document, "properties": {**vm.document["properties"], key: value}}

    deallocated = {"instanceView": {"powerState": {"code": "PowerState/deallocated"}}}
    assert replace(vm, document=changed("extended", deallocated)).config_hash == vm.config_hash
    assert replace(vm, document=changed("hardwareProfile", {"vmSize": "Standard_D4s_v5"})).config_hash != vm.config_hash
