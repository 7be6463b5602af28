"""Azure types and policies added for issue 19, held against real payload shapes: each new type's
fixture (an azure-rest-api-specs example as a Resource Graph row) is shaped as the live collector and
an upload shape it, and every policy of it, and every new policy on an older type, is evaluated on
real-shape documents both ways (pass and fail)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.azure.engine import AzureCollector, from_rows, shape
from shared.inventory.collectors.base import GLOBAL_REGION
from shared.inventory.collectors.providers import resource_types
from shared.policies.policy import builtin_policies

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "azure"
POLICIES = builtin_policies()

# The types this file covers, with the table and detail GETs each one is declared with.
NEW_TYPES = {
    "azure.security.pricing": "SecurityResources",
    "azure.mysql.flexible-server": "Resources",
    "azure.containerregistry.registry": "Resources",
    "azure.cache.redis": "Resources",
    "azure.eventhub.namespace": "Resources",
    "azure.servicebus.namespace": "Resources",
    "azure.authorization.role-definition": "AuthorizationResources",
    "azure.network.flow-log": "Resources",
    "azure.cognitiveservices.account": "Resources",
    "azure.keyvault.managed-hsm": "Resources",
    "azure.appconfiguration.store": "Resources",
    "azure.search.service": "Resources",
    "azure.compute.vmss": "Resources",
    "azure.synapse.workspace": "Resources",
    "azure.datafactory.factory": "Resources",
    "azure.databricks.workspace": "Resources",
    "azure.network.nic": "Resources",
    "azure.sql.managed-instance": "Resources",
    "azure.app.container-app": "Resources",
}

# For each policy: the changes (dotted path -> value) that make a real-shape document pass, then
# those that make it fail. Applied to the first row of the type's fixture.
PLANS = {
    "servers": "VirtualMachines",
    "app_service": "AppServices",
    "sql_databases": "SqlServers",
    "sql_servers_on_machines": "SqlServerVirtualMachines",
    "open_source_databases": "OpenSourceRelationalDatabases",
    "cosmosdb": "CosmosDbs",
    "storage": "StorageAccounts",
    "containers": "Containers",
    "keyvault": "KeyVaults",
    "dns": "Dns",
    "resource_manager": "Arm",
}
APPROVED = [{"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}]
OWNER = [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]
ASSIGNER = [{"actions": ["Microsoft.Authorization/roleAssignments/write"], "notActions": []}]


def _alert(operation: str, enabled: bool) -> list[dict]:
    return [
        {
            "id": "/subscriptions/6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b/resourceGroups/rg-monitor/providers/"
            "Microsoft.Insights/activityLogAlerts/alert",
            "name": "alert",
            "type": "Microsoft.Insights/ActivityLogAlerts",
            "location": "Global",
            "properties": {
                "scopes": ["/subscriptions/6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"],
                "condition": {
                    "allOf": [
                        {"field": "category", "equals": "Administrative"},
                        {"field": "operationName", "equals": operation},
                    ]
                },
                "actions": {"actionGroups": []},
                "enabled": enabled,
            },
        }
    ]


def _firewall_rule(start: str, end: str) -> dict:
    return {"name": f"rule-{start}-{end}", "properties": {"startIpAddress": start, "endIpAddress": end}}


def _contact(emails="security@contoso.com", roles=("Owner",), alerts="On", severity="Low") -> dict:
    return {
        "name": "default",
        "properties": {
            "emails": emails,
            "notificationsByRole": {"state": "On", "roles": list(roles)},
            "alertNotifications": {"state": alerts, "minimalSeverity": severity},
        },
    }


def _on(category: str) -> dict:
    return {"category": category, "enabled": True}


def _setting(
    logs: list[dict],
    workspace: str = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law",
) -> dict:
    return {"name": "setting", "properties": {"workspaceId": workspace, "logs": logs}}


def _item(name: str, exp: int | None = None, enabled: bool = True) -> dict:
    attributes = {"enabled": enabled, "created": 1596493796, "updated": 1596493796}
    if exp is not None:
        attributes["exp"] = exp
    return {"name": name, "properties": {"attributes": attributes}}


FLIPS: dict[str, tuple[dict, dict]] = {
    **{
        f"pol_azure_defender_{suffix}_on": (
            {"name": plan, "properties.pricingTier": "Standard"},
            {"name": plan, "properties.pricingTier": "Free"},
        )
        for suffix, plan in PLANS.items()
    },
    "pol_azure_mysql_require_secure_transport": (
        {"requireSecureTransport.value": "ON"},
        {"requireSecureTransport.value": "OFF"},
    ),
    "pol_azure_mysql_tls_version": ({"tlsVersion.value": "TLSv1.2,TLSv1.3"}, {"tlsVersion.value": "TLSv1,TLSv1.2"}),
    "pol_azure_mysql_public_network_disabled": (
        {"properties.network.publicNetworkAccess": "Disabled"},
        {"properties.network.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_mysql_geo_redundant_backup": (
        {"properties.backup.geoRedundantBackup": "Enabled"},
        {"properties.backup.geoRedundantBackup": "Disabled"},
    ),
    "pol_azure_acr_admin_user_disabled": (
        {"properties.adminUserEnabled": False},
        {"properties.adminUserEnabled": True},
    ),
    "pol_azure_acr_anonymous_pull_disabled": (
        {"properties.anonymousPullEnabled": False},
        {"properties.anonymousPullEnabled": True},
    ),
    "pol_azure_acr_network_restricted": (
        {"properties.networkRuleSet.defaultAction": "Deny"},
        {"properties.networkRuleSet.defaultAction": "Allow", "properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_redis_non_ssl_port_disabled": (
        {"properties.enableNonSslPort": False},
        {"properties.enableNonSslPort": True},
    ),
    "pol_azure_redis_min_tls": ({"properties.minimumTlsVersion": "1.2"}, {"properties.minimumTlsVersion": "1.1"}),
    "pol_azure_redis_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_eventhub_min_tls": ({"properties.minimumTlsVersion": "1.2"}, {"properties.minimumTlsVersion": "1.0"}),
    "pol_azure_eventhub_local_auth_disabled": (
        {"properties.disableLocalAuth": True},
        {"properties.disableLocalAuth": False},
    ),
    "pol_azure_eventhub_public_network_disabled": (
        {"properties.publicNetworkAccess": "SecuredByPerimeter"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_servicebus_min_tls": ({"properties.minimumTlsVersion": "1.2"}, {"properties.minimumTlsVersion": "1.1"}),
    "pol_azure_servicebus_local_auth_disabled": (
        {"properties.disableLocalAuth": True},
        {"properties.disableLocalAuth": False},
    ),
    "pol_azure_servicebus_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_custom_role_no_subscription_owner": (
        {"properties.type": "BuiltInRole", "properties.permissions": OWNER},
        {"properties.type": "CustomRole", "properties.permissions": OWNER},
    ),
    "pol_azure_custom_role_no_role_assignment_write": (
        {"properties.type": "BuiltInRole", "properties.permissions": ASSIGNER},
        {"properties.type": "CustomRole", "properties.permissions": ASSIGNER},
    ),
    "pol_azure_flow_log_enabled": ({"properties.enabled": True}, {"properties.enabled": False}),
    "pol_azure_flow_log_retention_90_days": (
        {"properties.retentionPolicy": {"days": 365, "enabled": True}},
        {"properties.retentionPolicy": {"days": 7, "enabled": True}},
    ),
    "pol_azure_flow_log_traffic_analytics": (
        {"properties.flowAnalyticsConfiguration.networkWatcherFlowAnalyticsConfiguration.enabled": True},
        {"properties.flowAnalyticsConfiguration.networkWatcherFlowAnalyticsConfiguration.enabled": False},
    ),
    "pol_azure_cognitive_local_auth_disabled": (
        {"properties.disableLocalAuth": True},
        {"properties.disableLocalAuth": False},
    ),
    "pol_azure_cognitive_network_restricted": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled", "properties.networkAcls": {"defaultAction": "Allow"}},
    ),
    "pol_azure_managed_hsm_purge_protection": (
        {"properties.enablePurgeProtection": True},
        {"properties.enablePurgeProtection": False},
    ),
    "pol_azure_managed_hsm_public_network_disabled": (
        {"properties.networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_appconfig_local_auth_disabled": (
        {"properties.disableLocalAuth": True},
        {"properties.disableLocalAuth": False},
    ),
    "pol_azure_appconfig_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_search_local_auth_disabled": (
        {"properties.disableLocalAuth": True},
        {"properties.disableLocalAuth": False},
    ),
    "pol_azure_search_network_restricted": (
        {"properties.publicNetworkAccess": "disabled"},
        {"properties.publicNetworkAccess": "enabled", "properties.networkRuleSet.ipRules": []},
    ),
    "pol_azure_vmss_linux_ssh_keys_only": (
        {"properties.virtualMachineProfile.osProfile.linuxConfiguration.disablePasswordAuthentication": True},
        {"properties.virtualMachineProfile.osProfile.linuxConfiguration.disablePasswordAuthentication": False},
    ),
    "pol_azure_vmss_automatic_os_upgrade": (
        {"properties.upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade": True},
        {"properties.upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade": False},
    ),
    "pol_azure_vmss_encryption_at_host": (
        {"properties.virtualMachineProfile.securityProfile.encryptionAtHost": True},
        {"properties.virtualMachineProfile.securityProfile.encryptionAtHost": False},
    ),
    "pol_azure_synapse_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_synapse_data_exfiltration_protection": (
        {"properties.managedVirtualNetworkSettings.preventDataExfiltration": True},
        {"properties.managedVirtualNetworkSettings.preventDataExfiltration": False},
    ),
    "pol_azure_synapse_entra_only_auth": (
        {"properties.azureADOnlyAuthentication": True},
        {"properties.azureADOnlyAuthentication": False},
    ),
    "pol_azure_datafactory_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_databricks_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_nic_ip_forwarding_disabled": (
        {"properties.enableIPForwarding": False},
        {"properties.enableIPForwarding": True},
    ),
    "pol_azure_sql_mi_public_endpoint_disabled": (
        {"properties.publicDataEndpointEnabled": False},
        {"properties.publicDataEndpointEnabled": True},
    ),
    "pol_azure_sql_mi_min_tls": ({"properties.minimalTlsVersion": "1.2"}, {"properties.minimalTlsVersion": "None"}),
    "pol_azure_containerapp_insecure_ingress_disabled": (
        {"properties.configuration.ingress.allowInsecure": False},
        {"properties.configuration.ingress.allowInsecure": True},
    ),
    "pol_azure_containerapp_ingress_restricted": (
        {
            "properties.configuration.ingress.external": False,
            "properties.configuration.ingress.ipSecurityRestrictions": [],
        },
        {
            "properties.configuration.ingress.external": True,
            "properties.configuration.ingress.ipSecurityRestrictions": [],
        },
    ),
    # New policies on older types, evaluated on those types' own real-shape fixtures.
    "pol_azure_storage_infrastructure_encryption": (
        {"properties.encryption.requireInfrastructureEncryption": True},
        {"properties.encryption.requireInfrastructureEncryption": False},
    ),
    "pol_azure_storage_public_network_disabled": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled"},
    ),
    "pol_azure_storage_trusted_services_bypass": (
        {"properties.networkAcls.bypass": "Logging, Metrics, AzureServices"},
        {"properties.networkAcls.bypass": "None"},
    ),
    "pol_azure_storage_private_endpoint": (
        {"properties.privateEndpointConnections": APPROVED},
        {"properties.privateEndpointConnections": []},
    ),
    "pol_azure_storage_cross_tenant_replication_disabled": (
        {"properties.allowCrossTenantReplication": False},
        {"properties.allowCrossTenantReplication": True},
    ),
    "pol_azure_storage_shared_key_disabled": (
        {"properties.allowSharedKeyAccess": False},
        {"properties.allowSharedKeyAccess": True},
    ),
    **{
        f"pol_azure_alert_{name}": (
            {"activityLogAlerts": _alert(operation, True)},
            {"activityLogAlerts": _alert(operation, False)},
        )
        for name, operation in {
            "sql_firewall_write": "Microsoft.Sql/servers/firewallRules/write",
            "sql_firewall_delete": "Microsoft.Sql/servers/firewallRules/delete",
            "public_ip_write": "Microsoft.Network/publicIPAddresses/write",
            "public_ip_delete": "Microsoft.Network/publicIPAddresses/delete",
        }.items()
    },
    "pol_azure_vm_trusted_launch": (
        {"properties.securityProfile.securityType": "TrustedLaunch"},
        {"properties.securityProfile.securityType": "Standard"},
    ),
    "pol_azure_vm_encryption_at_host": (
        {"properties.securityProfile.encryptionAtHost": True},
        {"properties.securityProfile.encryptionAtHost": False},
    ),
    "pol_azure_keyvault_rbac_authorization": (
        {"properties.enableRbacAuthorization": True},
        {"properties.enableRbacAuthorization": False},
    ),
    "pol_azure_keyvault_private_endpoint": (
        {"properties.privateEndpointConnections": APPROVED},
        {"properties.privateEndpointConnections": []},
    ),
    "pol_azure_keyvault_network_restricted": (
        {"properties.publicNetworkAccess": "Disabled"},
        {"properties.publicNetworkAccess": "Enabled", "properties.networkAcls": {"defaultAction": "Allow"}},
    ),
    "pol_azure_webapp_managed_identity": ({"identity": {"type": "SystemAssigned"}}, {"identity": {"type": "None"}}),
    "pol_azure_webapp_http2": ({"siteConfig.http20Enabled": True}, {"siteConfig.http20Enabled": False}),
    "pol_azure_webapp_remote_debugging_disabled": (
        {"siteConfig.remoteDebuggingEnabled": False},
        {"siteConfig.remoteDebuggingEnabled": True},
    ),
    "pol_azure_aks_local_accounts_disabled": (
        {"properties.disableLocalAccounts": True},
        {"properties.disableLocalAccounts": False},
    ),
    "pol_azure_aks_api_server_restricted": (
        {"properties.apiServerAccessProfile": {"enablePrivateCluster": True}},
        {"properties.apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": []}},
    ),
    "pol_azure_cosmosdb_private_endpoint": (
        {"properties.privateEndpointConnections": APPROVED},
        {"properties.privateEndpointConnections": []},
    ),
    # Server parameters and firewall rules of PostgreSQL (detail GETs recorded in the fixture).
    **{
        f"pol_azure_postgresql_{name}": ({f"{into}.value": "on"}, {f"{into}.value": "off"})
        for name, into in {
            "log_checkpoints": "logCheckpoints",
            "log_connections": "logConnections",
            "log_disconnections": "logDisconnections",
            "connection_throttling": "connectionThrottling",
        }.items()
    },
    "pol_azure_postgresql_log_retention": ({"logRetentionDays.value": "4"}, {"logRetentionDays.value": "3"}),
    "pol_azure_postgresql_azure_services_access": (
        {"firewallRules": [_firewall_rule("203.0.113.0", "203.0.113.255")]},
        {"firewallRules": [_firewall_rule("203.0.113.0", "203.0.113.255"), _firewall_rule("0.0.0.0", "0.0.0.0")]},
    ),
    "pol_azure_postgresql_firewall_allow_all": (
        {"firewallRules": [_firewall_rule("0.0.0.0", "0.0.0.0")]},
        {"firewallRules": [_firewall_rule("0.0.0.0", "255.255.255.255")]},
    ),
    "pol_azure_mysql_audit_log_enabled": ({"auditLogEnabled.value": "ON"}, {"auditLogEnabled.value": "OFF"}),
    "pol_azure_mysql_audit_log_connections": (
        {"auditLogEvents.value": "DDL,CONNECTION"},
        {"auditLogEvents.value": "DDL,DML"},
    ),
    # The subscription's security contacts and diagnostic settings.
    "pol_azure_security_contact_email": (
        {"securityContacts": [_contact(emails="soc@contoso.com")]},
        {"securityContacts": [_contact(emails="")]},
    ),
    "pol_azure_security_alerts_to_owners": (
        {"securityContacts": [_contact(roles=["Owner"])]},
        {"securityContacts": [_contact(roles=["Contributor"])]},
    ),
    "pol_azure_security_alert_notifications": (
        {"securityContacts": [_contact(severity="High")]},
        {"securityContacts": [_contact(alerts="Off")]},
    ),
    "pol_azure_activity_log_exported": (
        {"diagnosticSettings": [_setting([{"category": "Administrative", "enabled": True}])]},
        {"diagnosticSettings": [_setting([{"category": "Administrative", "enabled": True}], workspace="")]},
    ),
    "pol_azure_activity_log_categories": (
        {"diagnosticSettings": [_setting([_on(c) for c in ("Administrative", "Alert", "Policy", "Security")])]},
        {"diagnosticSettings": [_setting([_on(c) for c in ("Administrative", "Alert", "Policy")])]},
    ),
    # Key Vault: keys, secrets and the vault's diagnostic settings.
    "pol_azure_keyvault_key_expiry": (
        {"keys": [_item("k1", exp=1830297600), _item("old", enabled=False)]},
        {"keys": [_item("k1", exp=1830297600), _item("k2")]},
    ),
    "pol_azure_keyvault_secret_expiry": (
        {"secrets": []},
        {"secrets": [_item("s1")]},
    ),
    "pol_azure_keyvault_logging": (
        {"diagnosticSettings": [_setting([_on("AuditEvent")])]},
        {"diagnosticSettings": [_setting([{"category": "AuditEvent", "enabled": False}])]},
    ),
}


def fixture(resource_type: str) -> dict:
    return json.loads((FIXTURES / f"{resource_type}.json").read_text())


class _Answers(AzureCollector):
    """The engine's detail step, answered from a fixture's recorded ARM answers instead of HTTP."""

    def __init__(self, answers: dict[str, dict]):
        self.answers = answers

    def _arm_get(self, path, api_version, spec, region):
        return copy.deepcopy(self.answers.get(path))


def live_documents(resource_type: str) -> dict[str, dict]:
    """Each fixture row as the live collector shapes it: detail GETs answered, then `shape`."""
    spec = resource_types.get(resource_type)
    data = fixture(resource_type)
    documents = {}
    for row in data["rows"]:
        recorded = data.get("details", {}).get(row["name"], {})
        answers = {f"{row['id']}/{path}": answer for path, answer in recorded.items()}
        documents[row["name"]] = shape(spec, _Answers(answers)._detail(spec, row, GLOBAL_REGION)).document
    return documents


def changed(document: dict, changes: dict) -> dict:
    document = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return document


def policies_of(resource_type: str) -> list[str]:
    return sorted(pid for pid, policy in POLICIES.items() if policy.resource_type == resource_type)


@pytest.mark.parametrize("resource_type", NEW_TYPES)
def test_new_type_is_declared_with_its_resource_graph_table(resource_type):
    spec = resource_types.get(resource_type)
    assert issubclass(spec, AzureResource) and spec.provider == "azure"
    assert spec.table == NEW_TYPES[resource_type]
    assert spec.query() == f"{spec.table} | where type =~ '{spec.native_type}' | order by id asc"
    assert spec.native_type == spec.native_type.lower()


@pytest.mark.parametrize("resource_type", NEW_TYPES)
def test_real_shape_fixture_is_shaped_from_an_upload_and_live(resource_type):
    data = fixture(resource_type)
    assert data["source"].startswith("https://github.com/Azure/azure-rest-api-specs/")
    uploaded = from_rows(copy.deepcopy(data["rows"]))
    assert [r.resource_type for r in uploaded] == [resource_type] * len(data["rows"])
    live = live_documents(resource_type)
    for resource, row in zip(uploaded, data["rows"], strict=True):
        assert resource.uid == resource.id == row["id"]
        assert resource.name == row["name"]
        assert resource.region == (row.get("location") or GLOBAL_REGION)
        # An export carries no detail answers; every document gets `tags`, an empty one for a row without.
        assert resource.document == {**row, "tags": row.get("tags") or {}}
        assert {k: v for k, v in live[row["name"]].items() if k in row} == row


def test_mysql_server_parameters_come_from_their_detail_gets():
    document = live_documents("azure.mysql.flexible-server")["mysqltestserver"]
    assert document["requireSecureTransport"]["value"] == "ON"
    assert document["tlsVersion"]["value"] == "TLSv1.2"
    assert document["properties"]["network"]["publicNetworkAccess"] == "Enabled"


@pytest.mark.parametrize("resource_type", NEW_TYPES)
def test_every_policy_of_a_new_type_gives_its_stated_verdict_on_the_real_shape(resource_type):
    expected = fixture(resource_type)["expected"]
    documents = live_documents(resource_type)
    for name, verdicts in expected.items():
        assert sorted(verdicts) == policies_of(resource_type), "every policy of the type has a stated verdict"
        for pid, verdict in verdicts.items():
            assert POLICIES[pid].fails(documents[name]) is (verdict == "fail"), (name, pid)


@pytest.mark.parametrize("pid", sorted(FLIPS))
def test_policy_passes_and_fails_on_a_real_shape_document(pid):
    policy = POLICIES[pid]
    document = next(iter(live_documents(policy.resource_type).values()))
    passing, failing = FLIPS[pid]
    assert policy.fails(changed(document, passing)) is False
    assert policy.fails(changed(document, failing)) is True


@pytest.mark.parametrize("pid", sorted(FLIPS))
def test_policy_says_what_an_absent_field_means(pid):
    policy = POLICIES[pid]
    assert policy.absent and "absent" in policy.examples
    assert policy.fails(policy.examples["absent"]) is (policy.absent["verdict"] == "fail")
    assert policy.fails(policy.examples["pass"]) is False and policy.fails(policy.examples["fail"]) is True


def test_every_policy_of_a_new_type_is_flipped_here():
    for resource_type in NEW_TYPES:
        assert set(policies_of(resource_type)) <= set(FLIPS), resource_type


def test_status_sentences_name_the_resource():
    policy = POLICIES["pol_azure_defender_servers_on"]
    assert policy.status_extended(True, name="VirtualMachines") == (
        "Defender for Servers is off: Defender plan VirtualMachines is on the Free tier."
    )
    policy = POLICIES["pol_azure_mysql_require_secure_transport"]
    assert policy.status_extended(True, name="mysqltestserver") == (
        "MySQL flexible server mysqltestserver accepts unencrypted connections (require_secure_transport is OFF)."
    )


def test_a_defender_policy_judges_only_its_own_plan():
    pricing = live_documents("azure.security.pricing")["VirtualMachines"]
    free_servers = changed(pricing, {"properties.pricingTier": "Free"})
    assert POLICIES["pol_azure_defender_servers_on"].fails(free_servers) is True
    assert POLICIES["pol_azure_defender_storage_on"].fails(free_servers) is False


def test_role_assignment_rights_taken_back_by_not_actions_pass():
    role = live_documents("azure.authorization.role-definition")["roleDefinitionId"]
    contributor_like = changed(
        role,
        {
            "properties.type": "CustomRole",
            "properties.permissions": [
                {
                    "actions": ["*"],
                    "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"],
                }
            ],
        },
    )
    assert POLICIES["pol_azure_custom_role_no_role_assignment_write"].fails(contributor_like) is False
    owner_like = changed(contributor_like, {"properties.permissions": OWNER})
    assert POLICIES["pol_azure_custom_role_no_role_assignment_write"].fails(owner_like) is True


def test_detail_answers_of_older_types_reach_the_policies_from_the_real_shapes():
    """The fixtures' recorded ARM answers, as the live collector attaches them, give each new
    detail policy the verdict their content implies."""
    postgres = live_documents("azure.postgresql.server")
    assert {pid: POLICIES[pid].fails(postgres["psql-dev"]) for pid in FLIPS if "postgresql" in pid} == {
        "pol_azure_postgresql_log_checkpoints": True,
        "pol_azure_postgresql_log_connections": False,
        "pol_azure_postgresql_log_disconnections": True,
        "pol_azure_postgresql_connection_throttling": True,
        "pol_azure_postgresql_log_retention": True,
        "pol_azure_postgresql_azure_services_access": True,
        "pol_azure_postgresql_firewall_allow_all": True,
    }
    assert not any(POLICIES[pid].fails(postgres["psql-prod"]) for pid in FLIPS if "postgresql" in pid)
    subscriptions = live_documents("azure.resources.subscription")
    contact_and_logs = [pid for pid in FLIPS if "security_" in pid or "activity_log" in pid]
    assert len(contact_and_logs) == 5
    assert not any(POLICIES[pid].fails(subscriptions["Contoso Production"]) for pid in contact_and_logs)
    assert all(POLICIES[pid].fails(subscriptions["Contoso Sandbox"]) for pid in contact_and_logs)
    vaults = live_documents("azure.keyvault.vault")
    vault_policies = ["pol_azure_keyvault_key_expiry", "pol_azure_keyvault_secret_expiry", "pol_azure_keyvault_logging"]
    assert [POLICIES[pid].fails(vaults["kv-prod"]) for pid in vault_policies] == [False, False, False]
    assert [POLICIES[pid].fails(vaults["kv-dev"]) for pid in vault_policies] == [True, True, True]
