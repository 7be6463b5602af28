"""A fake Azure Resource Manager on 127.0.0.1 for the real SDK: Resource Graph queries and the ARM GETs
the collector makes for details, in the documented response shapes, with faults a test switches on."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

RESOURCE_GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CONTAINER_TYPES = ("microsoft.resources/subscriptions", "microsoft.resources/subscriptions/resourcegroups")
# Resource Graph tables other than Resources, by the start of the types they hold.
TABLE_PREFIXES = {"microsoft.authorization/": "authorizationresources", "microsoft.security/": "securityresources"}


def table_of(kind: str) -> str:
    """The Resource Graph table that holds rows of a (lower-case) type."""
    if kind in CONTAINER_TYPES:
        return "resourcecontainers"
    return next((table for prefix, table in TABLE_PREFIXES.items() if kind.startswith(prefix)), "resources")


DEFAULT_TOP = 100  # Resource Graph's page size when a query does not ask for one


def arm_id(subscription: str, group: str, provider_type: str, *names: str) -> str:
    """`provider_type` such as "Microsoft.Sql/servers/databases", one name per type segment."""
    namespace, *types = provider_type.split("/")
    segments = "/".join(f"{kind}/{name}" for kind, name in zip(types, names, strict=True))
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{segments}"


def row(
    subscription: str,
    group: str,
    provider_type: str,
    *names: str,
    location: str = "westeurope",
    properties: dict | None = None,
    **columns,
) -> dict:
    """A Resource Graph `Resources` row as objectArray returns it: every column, `type` lower-cased."""
    return {
        "id": arm_id(subscription, group, provider_type, *names),
        "name": names[-1],
        "type": provider_type.lower(),
        "tenantId": TENANT_ID,
        "kind": columns.pop("kind", ""),
        "location": location,
        "resourceGroup": group.lower(),
        "subscriptionId": subscription,
        "managedBy": columns.pop("managedBy", ""),
        "sku": columns.pop("sku", None),
        "plan": None,
        "properties": properties or {},
        "tags": columns.pop("tags", {}),
        "identity": columns.pop("identity", None),
        "zones": columns.pop("zones", None),
        "extendedLocation": None,
        **columns,
    }


def subscription_row(subscription: str, name: str) -> dict:
    """A `ResourceContainers` row for a subscription: no location, no resource group."""
    return {
        "id": f"/subscriptions/{subscription}",
        "name": name,
        "type": "microsoft.resources/subscriptions",
        "tenantId": TENANT_ID,
        "kind": "",
        "location": "",
        "resourceGroup": "",
        "subscriptionId": subscription,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": {
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        },
        "tags": {},
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, headers=headers or {}, content_type="application/json; charset=utf-8")


def _json(body: dict) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json; charset=utf-8")


def _token(offset: int) -> str:
    return base64.b64encode(json.dumps({"$offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    return json.loads(base64.b64decode(token))["$offset"] if token else 0


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: a scan makes hundreds of calls."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class FakeAzure:
    """Resource Graph over a seeded list of rows, plus ARM GETs for details keyed by path.

    Faults: `throttle(n)` answers 429 with Retry-After to the next n calls, `deny(subscription)`
    answers 403 AuthorizationFailed for it; `calls` records (method, path) of every request."""

    def __init__(self, rows: Iterable[dict] = (), details: dict[str, dict] | None = None, tokens=("t",)):
        self.rows: list[dict] = list(rows)
        self.details: dict[str, dict] = {path.lower(): body for path, body in (details or {}).items()}
        self.tokens = set(tokens)
        self.denied: set[str] = set()
        self.throttled = 0
        self.throttled_method: str | None = None
        self.retry_after: str | None = "1"
        self.truncated = False  # answer like a query that cannot page: resultTruncated, no $skipToken
        self.list_page_size = 100  # ARM list answers (`value`) longer than this page with nextLink
        self.calls: list[tuple[str, str]] = []
        self.queries: list[dict] = []  # the Resource Graph request bodies, in order
        self._answers: dict[tuple, list[dict]] = {}  # sorted matches per query, so paging is not O(n log n)
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval: shutting the server down after each test takes that long.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def seed(self, rows: Iterable[dict] = (), details: dict[str, dict] | None = None) -> None:
        self.rows.extend(rows)
        self._answers.clear()
        self.details.update({path.lower(): body for path, body in (details or {}).items()})

    def throttle(self, times: int, retry_after: str | None = "1", method: str | None = None) -> None:
        """Answer 429 to the next `times` calls (only to `method` ones when given: GET for details)."""
        self.throttled, self.retry_after, self.throttled_method = times, retry_after, method

    def deny(self, subscription: str) -> None:
        self.denied.add(subscription)

    @property
    def query_count(self) -> int:
        return sum(1 for method, path in self.calls if method == "POST" and path.lower() == RESOURCE_GRAPH_PATH)

    def __enter__(self) -> FakeAzure:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ, start_response):
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.calls.append((request.method, request.path))
            throttled = self.throttled > 0 and self.throttled_method in (None, request.method)
            if throttled:
                self.throttled -= 1
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return _error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        if throttled:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return _error(429, "RateLimiting", "Client application has been throttled.", headers)
        if not request.args.get("api-version"):
            return _error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        if request.method == "POST" and request.path.lower() == RESOURCE_GRAPH_PATH:
            return self._resource_graph(request.get_json())
        if request.method == "GET":
            return self._arm_get(request)
        return _error(404, "NotFound", f"No route for {request.method} {request.path}")

    def _forbidden(self, subscription: str) -> Response:
        return _error(
            403,
            "AuthorizationFailed",
            f"The client 'policycortex' with object id '00000000-0000-0000-0000-00000000cafe' does not have "
            f"authorization to perform action 'Microsoft.ResourceGraph/resources/read' over scope "
            f"'/subscriptions/{subscription}' or the scope is invalid.",
        )

    def _resource_graph(self, body: dict) -> Response:
        self.queries.append(body)
        subscriptions = body.get("subscriptions") or []
        for subscription in subscriptions:
            if subscription in self.denied:
                return self._forbidden(subscription)
        query = body.get("query", "")
        table = query.split("|", 1)[0].strip().lower()
        wanted = re.search(r"type\s*=~\s*'([^']+)'", query)
        if table not in ("resources", "resourcecontainers", *TABLE_PREFIXES.values()) or not wanted:
            return _error(400, "BadRequest", f"The fake understands `<table> | where type =~ '...'`, got: {query}")
        key = (table, wanted.group(1).lower(), tuple(subscriptions), len(self.rows))
        rows = self._answers.get(key)
        if rows is None:
            rows = self._answers[key] = sorted(
                (
                    r
                    for r in self.rows
                    if r["type"] == key[1] and r["subscriptionId"] in subscriptions and table_of(r["type"]) == table
                ),
                key=lambda r: r["id"].lower(),
            )
        options = body.get("options") or {}
        top = min(int(options.get("$top") or DEFAULT_TOP), 1000)
        start = _offset(options.get("$skipToken"))
        page = rows[start : start + top]
        answer = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "data": page,
            "facets": [],
        }
        if start + top < len(rows):
            if self.truncated:
                answer["resultTruncated"] = "true"
            else:
                answer["$skipToken"] = _token(start + top)
        return _json(answer)

    def _arm_get(self, request: Request) -> Response:
        match = re.match(r"^/subscriptions/([^/]+)", request.path)
        if match and match.group(1) in self.denied:
            return self._forbidden(match.group(1))
        found = self.details.get(request.path.lower())
        if found is None:
            return _error(404, "ResourceNotFound", f"The Resource '{request.path}' was not found.")
        if "value" not in found:
            return _json(found)
        start = int(request.args.get("$skiptoken", 0))
        size = self.list_page_size
        answer = {"value": found["value"][start : start + size]}
        if start + size < len(found["value"]):
            answer["nextLink"] = (
                f"{self.url}{request.path}?api-version={request.args['api-version']}&$skiptoken={start + size}"
            )
        return _json(answer)


# --- A small, deliberately mixed Azure estate -----------------------------------------------------------

SUBSCRIPTION = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
DENIED_SUBSCRIPTION = "0b7e4c3d-2a1f-4e8d-9c6b-5a4f3e2d1c0b"
GROUP = "rg-prod"


def _rule(name: str, priority: int, access: str, direction: str, source, ports, protocol: str = "Tcp") -> dict:
    """A security rule as Resource Graph nests it: its settings under `properties`."""
    properties = {
        "provisioningState": "Succeeded",
        "protocol": protocol,
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": access,
        "priority": priority,
        "direction": direction,
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    }
    if isinstance(source, list):
        properties["sourceAddressPrefixes"] = source
    else:
        properties["sourceAddressPrefix"] = source
    if isinstance(ports, list):
        properties["destinationPortRanges"] = ports
    else:
        properties["destinationPortRange"] = ports
    return {"name": name, "type": "Microsoft.Network/networkSecurityGroups/securityRules", "properties": properties}


# The rules Azure adds to every NSG, below every custom rule: the last inbound one refuses the internet.
DEFAULT_RULES = [
    _rule("AllowVnetInBound", 65000, "Allow", "Inbound", "VirtualNetwork", "*", protocol="*"),
    _rule("AllowAzureLoadBalancerInBound", 65001, "Allow", "Inbound", "AzureLoadBalancer", "*", protocol="*"),
    _rule("DenyAllInBound", 65500, "Deny", "Inbound", "*", "*", protocol="*"),
    _rule("AllowVnetOutBound", 65000, "Allow", "Outbound", "VirtualNetwork", "*", protocol="*"),
    _rule("AllowInternetOutBound", 65001, "Allow", "Outbound", "*", "*", protocol="*"),
    _rule("DenyAllOutBound", 65500, "Deny", "Outbound", "*", "*", protocol="*"),
]
for _default in DEFAULT_RULES:
    _default["type"] = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"


def _alert(sub: str, name: str, operation: str, *, enabled: bool = True, scope: str | None = None) -> dict:
    return {
        "id": arm_id(sub, GROUP, "Microsoft.Insights/activityLogAlerts", name),
        "name": name,
        "type": "Microsoft.Insights/ActivityLogAlerts",
        "location": "Global",
        "properties": {
            "scopes": [scope or f"/subscriptions/{sub}"],
            "condition": {
                "allOf": [
                    {"field": "category", "equals": "Administrative"},
                    {"field": "operationName", "equals": operation},
                ]
            },
            "actions": {
                "actionGroups": [{"actionGroupId": arm_id(sub, GROUP, "Microsoft.Insights/actionGroups", "ag-secops")}]
            },
            "enabled": enabled,
        },
    }


def _storage(sub: str, name: str, **properties) -> dict:
    base = {
        "provisioningState": "Succeeded",
        "creationTime": "2023-04-12T09:21:44.1234567Z",
        "primaryLocation": "westeurope",
        "statusOfPrimary": "available",
        "accessTier": "Hot",
        "encryption": {
            "keySource": "Microsoft.Storage",
            "services": {
                "blob": {"enabled": True, "keyType": "Account"},
                "file": {"enabled": True, "keyType": "Account"},
            },
        },
        "primaryEndpoints": {"blob": f"https://{name}.blob.core.windows.net/"},
    }
    return row(
        sub,
        GROUP,
        "Microsoft.Storage/storageAccounts",
        name,
        kind="StorageV2",
        sku={"name": "Standard_LRS", "tier": "Standard"},
        properties={**base, **properties},
    )


def _sql_server(sub: str, name: str, **properties) -> dict:
    base = {
        "administratorLogin": "sqladmin",
        "version": "12.0",
        "state": "Ready",
        "fullyQualifiedDomainName": f"{name}.database.windows.net",
        "privateEndpointConnections": [],
        "minimalTlsVersion": "1.2",
        "restrictOutboundNetworkAccess": "Disabled",
    }
    return row(sub, GROUP, "Microsoft.Sql/servers", name, kind="v12.0", properties={**base, **properties})


def _auditing(state: str, retention: int) -> dict:
    return {
        "name": "default",
        "type": "Microsoft.Sql/servers/auditingSettings",
        "properties": {
            "state": state,
            "retentionDays": retention,
            "auditActionsAndGroups": [
                "SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP",
                "FAILED_DATABASE_AUTHENTICATION_GROUP",
            ],
            "isAzureMonitorTargetEnabled": state == "Enabled",
            "storageEndpoint": "",
        },
    }


def _firewall(name: str, start: str, end: str) -> dict:
    return {
        "name": name,
        "type": "Microsoft.Sql/servers/firewallRules",
        "properties": {"startIpAddress": start, "endIpAddress": end},
    }


def _database(sub: str, server: str, name: str) -> dict:
    return row(
        sub,
        GROUP,
        "Microsoft.Sql/servers/databases",
        server,
        name,
        kind="v12.0,user",
        sku={"name": "GP_S_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2},
        managedBy=arm_id(sub, GROUP, "Microsoft.Sql/servers", server),
        properties={
            "status": "Online",
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "zoneRedundant": False,
            "earliestRestoreDate": "2024-05-01T00:00:00Z",
            "currentServiceObjectiveName": "GP_S_Gen5_2",
        },
    )


def _vm(sub: str, name: str, os_disk: dict, data_disks: list[dict]) -> dict:
    return row(
        sub,
        GROUP,
        "Microsoft.Compute/virtualMachines",
        name,
        properties={
            "vmId": "8c5f2f0e-1b9a-4f6a-9d7e-3c2b1a0f9e8d",
            "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical",
                    "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts-gen2",
                },
                "osDisk": {
                    "osType": "Linux",
                    "name": f"{name}_OsDisk_1",
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "diskSizeGB": 30,
                    **os_disk,
                },
                "dataDisks": data_disks,
            },
            "osProfile": {
                "computerName": name,
                "adminUsername": "azureuser",
                "linuxConfiguration": {"disablePasswordAuthentication": True},
            },
            "networkProfile": {
                "networkInterfaces": [{"id": arm_id(sub, GROUP, "Microsoft.Network/networkInterfaces", f"{name}-nic")}]
            },
            "provisioningState": "Succeeded",
            "extended": {"instanceView": {"powerState": {"code": "PowerState/running", "displayStatus": "VM running"}}},
        },
    )


def _disk(sub: str, name: str, encryption: str, network: str) -> dict:
    return row(
        sub,
        GROUP,
        "Microsoft.Compute/disks",
        name,
        sku={"name": "Premium_LRS", "tier": "Premium"},
        properties={
            "creationData": {"createOption": "Empty"},
            "diskSizeGB": 128,
            "encryption": {
                "type": encryption,
                **(
                    {"diskEncryptionSetId": arm_id(sub, GROUP, "Microsoft.Compute/diskEncryptionSets", "des-prod")}
                    if "Customer" in encryption
                    else {}
                ),
            },
            "networkAccessPolicy": network,
            "publicNetworkAccess": "Enabled" if network == "AllowAll" else "Disabled",
            "diskState": "Unattached",
            "provisioningState": "Succeeded",
        },
    )


def _site(sub: str, name: str, https_only: bool) -> dict:
    return row(
        sub,
        GROUP,
        "Microsoft.Web/sites",
        name,
        kind="app,linux",
        properties={
            "state": "Running",
            "hostNames": [f"{name}.azurewebsites.net"],
            "enabled": True,
            "httpsOnly": https_only,
            "serverFarmId": arm_id(sub, GROUP, "Microsoft.Web/serverfarms", "asp-prod"),
            "siteConfig": {"minTlsVersion": None, "ftpsState": None, "http20Enabled": None},
            "clientCertEnabled": False,
        },
    )


def _site_config(min_tls: str, ftps: str) -> dict:
    return {
        "name": "web",
        "type": "Microsoft.Web/sites/config",
        "properties": {
            "minTlsVersion": min_tls,
            "ftpsState": ftps,
            "http20Enabled": True,
            "linuxFxVersion": "PYTHON|3.11",
        },
    }


def _postgres_ssl(value: str) -> dict:
    return {
        "name": "require_secure_transport",
        "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        "properties": {
            "value": value,
            "defaultValue": "on",
            "dataType": "Boolean",
            "source": "user-override",
            "allowedValues": "on,off",
        },
    }


def demo_estate(sub: str = SUBSCRIPTION) -> tuple[list[dict], dict[str, dict]]:
    """Rows and detail answers of a subscription whose violations are known (see tests/e2e/test_azure_scan.py)."""
    sql_prod, sql_legacy, sql_reporting = "sql-prod", "sql-legacy", "sql-reporting"
    rows = [
        subscription_row(sub, "Contoso Production"),
        # Storage: one compliant account, one failing everything, one old account missing newer settings.
        _storage(
            sub,
            "stprodlogs",
            supportsHttpsTrafficOnly=True,
            minimumTlsVersion="TLS1_2",
            allowBlobPublicAccess=False,
            networkAcls={"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
        ),
        _storage(
            sub,
            "stlegacyweb",
            supportsHttpsTrafficOnly=False,
            minimumTlsVersion="TLS1_0",
            allowBlobPublicAccess=True,
            networkAcls={"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
        ),
        _storage(
            sub,
            "stanalytics",
            supportsHttpsTrafficOnly=True,
            networkAcls={"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
        ),
        # Network security groups.
        row(
            sub,
            GROUP,
            "Microsoft.Network/networkSecurityGroups",
            "nsg-web",
            properties={
                "defaultSecurityRules": DEFAULT_RULES,
                "securityRules": [
                    _rule("allow-https", 100, "Allow", "Inbound", "Internet", "443"),
                    _rule("allow-ssh-corp", 110, "Allow", "Inbound", "10.0.0.0/8", "22"),
                ],
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.Network/networkSecurityGroups",
            "nsg-jump",
            properties={
                "defaultSecurityRules": DEFAULT_RULES,
                "securityRules": [
                    _rule("ssh-anywhere", 100, "Allow", "Inbound", "*", "22"),
                    _rule("rdp-winrm", 110, "Allow", "Inbound", ["0.0.0.0/0"], ["3389", "5985-5986"]),
                ],
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.Network/networkSecurityGroups",
            "nsg-db",
            properties={
                "defaultSecurityRules": DEFAULT_RULES,
                "securityRules": [
                    _rule("deny-ssh-internet", 100, "Deny", "Inbound", "Internet", "22"),
                    _rule("mgmt-from-vnet", 110, "Allow", "Inbound", "VirtualNetwork", "20-3400"),
                    _rule("ssh-out", 120, "Allow", "Outbound", "*", "22"),
                ],
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.Network/networkSecurityGroups",
            "nsg-ops",
            properties={
                "defaultSecurityRules": DEFAULT_RULES,
                "securityRules": [
                    _rule("allow-all-internet", 4000, "Allow", "Inbound", "Internet", "*", protocol="*"),
                ],
            },
        ),
        # Public IPs: one in use, one left over.
        row(
            sub,
            GROUP,
            "Microsoft.Network/publicIPAddresses",
            "pip-appgw",
            sku={"name": "Standard", "tier": "Regional"},
            properties={
                "ipAddress": "20.50.10.4",
                "publicIPAllocationMethod": "Static",
                "publicIPAddressVersion": "IPv4",
                "ipConfiguration": {
                    "id": arm_id(sub, GROUP, "Microsoft.Network/applicationGateways", "agw-prod")
                    + "/frontendIPConfigurations/appGwPublicFrontendIp"
                },
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.Network/publicIPAddresses",
            "pip-orphan",
            sku={"name": "Standard", "tier": "Regional"},
            properties={
                "ipAddress": "20.50.10.9",
                "publicIPAllocationMethod": "Static",
                "publicIPAddressVersion": "IPv4",
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.Network/virtualNetworks",
            "vnet-prod",
            properties={"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}, "subnets": []},
        ),
        # SQL.
        _sql_server(
            sub,
            sql_prod,
            publicNetworkAccess="Disabled",
            administrators={
                "administratorType": "ActiveDirectory",
                "principalType": "Group",
                "login": "sql-admins",
                "sid": "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                "tenantId": TENANT_ID,
                "azureADOnlyAuthentication": True,
            },
        ),
        _sql_server(sub, sql_legacy, publicNetworkAccess="Enabled"),
        _sql_server(
            sub,
            sql_reporting,
            publicNetworkAccess="Disabled",
            administrators={
                "administratorType": "ActiveDirectory",
                "principalType": "Group",
                "login": "bi-admins",
                "sid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                "tenantId": TENANT_ID,
                "azureADOnlyAuthentication": False,
            },
        ),
        _database(sub, sql_prod, "appdb"),
        {**_database(sub, sql_prod, "master"), "kind": "v12.0,system"},
        _database(sub, sql_legacy, "legacydb"),
        row(
            sub,
            GROUP,
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "psql-prod",
            sku={"name": "Standard_D2ds_v4", "tier": "GeneralPurpose"},
            properties={
                "version": "15",
                "state": "Ready",
                "fullyQualifiedDomainName": "psql-prod.postgres.database.azure.com",
                "network": {"publicNetworkAccess": "Disabled"},
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "psql-dev",
            sku={"name": "Standard_B1ms", "tier": "Burstable"},
            properties={
                "version": "14",
                "state": "Ready",
                "fullyQualifiedDomainName": "psql-dev.postgres.database.azure.com",
                "network": {"publicNetworkAccess": "Enabled"},
            },
        ),
        # Key Vault.
        row(
            sub,
            GROUP,
            "Microsoft.KeyVault/vaults",
            "kv-prod",
            properties={
                "tenantId": TENANT_ID,
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": 90,
                "enablePurgeProtection": True,
                "enableRbacAuthorization": True,
                "vaultUri": "https://kv-prod.vault.azure.net/",
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.KeyVault/vaults",
            "kv-dev",
            properties={
                "tenantId": TENANT_ID,
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": 7,
                "enableRbacAuthorization": False,
                "vaultUri": "https://kv-dev.vault.azure.net/",
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.KeyVault/vaults",
            "kv-old",
            properties={
                "tenantId": TENANT_ID,
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": False,
                "vaultUri": "https://kv-old.vault.azure.net/",
            },
        ),
        # Compute.
        _vm(
            sub,
            "vm-web-01",
            {
                "managedDisk": {
                    "storageAccountType": "Premium_LRS",
                    "id": arm_id(sub, GROUP, "Microsoft.Compute/disks", "vm-web-01_OsDisk_1"),
                }
            },
            [
                {
                    "lun": 0,
                    "name": "disk-data-01",
                    "createOption": "Attach",
                    "managedDisk": {"id": arm_id(sub, GROUP, "Microsoft.Compute/disks", "disk-data-01")},
                }
            ],
        ),
        _vm(
            sub, "vm-legacy-01", {"vhd": {"uri": "https://stlegacyweb.blob.core.windows.net/vhds/vm-legacy-01.vhd"}}, []
        ),
        _disk(sub, "vm-web-01_OsDisk_1", "EncryptionAtRestWithCustomerKey", "DenyAll"),
        _disk(sub, "disk-data-01", "EncryptionAtRestWithPlatformKey", "AllowAll"),
        # App Service.
        _site(sub, "app-portal", https_only=True),
        _site(sub, "app-legacy", https_only=False),
        # AKS.
        row(
            sub,
            GROUP,
            "Microsoft.ContainerService/managedClusters",
            "aks-prod",
            properties={
                "kubernetesVersion": "1.29.4",
                "enableRBAC": True,
                "dnsPrefix": "aks-prod",
                "aadProfile": {"managed": True, "enableAzureRBAC": True},
                "powerState": {"code": "Running"},
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.ContainerService/managedClusters",
            "aks-sandbox",
            properties={
                "kubernetesVersion": "1.27.9",
                "enableRBAC": False,
                "dnsPrefix": "aks-sandbox",
                "powerState": {"code": "Running"},
            },
        ),
        # Cosmos DB.
        row(
            sub,
            GROUP,
            "Microsoft.DocumentDB/databaseAccounts",
            "cosmos-orders",
            kind="GlobalDocumentDB",
            properties={
                "databaseAccountOfferType": "Standard",
                "publicNetworkAccess": "Disabled",
                "isVirtualNetworkFilterEnabled": True,
                "ipRules": [],
                "disableLocalAuth": True,
            },
        ),
        row(
            sub,
            GROUP,
            "Microsoft.DocumentDB/databaseAccounts",
            "cosmos-catalog",
            kind="GlobalDocumentDB",
            properties={
                "databaseAccountOfferType": "Standard",
                "publicNetworkAccess": "Enabled",
                "isVirtualNetworkFilterEnabled": False,
                "ipRules": [],
                "disableLocalAuth": False,
            },
        ),
    ]
    server = {name: arm_id(sub, GROUP, "Microsoft.Sql/servers", name) for name in (sql_prod, sql_legacy, sql_reporting)}
    database = {
        name: arm_id(sub, GROUP, "Microsoft.Sql/servers/databases", server_name, name)
        for server_name, name in ((sql_prod, "appdb"), (sql_prod, "master"), (sql_legacy, "legacydb"))
    }
    details = {
        f"/subscriptions/{sub}/providers/Microsoft.Insights/activityLogAlerts": {
            "value": [
                _alert(sub, "alert-policy-assignment-write", "Microsoft.Authorization/policyAssignments/write"),
                _alert(sub, "alert-nsg-write", "Microsoft.Network/networkSecurityGroups/write"),
                # Disabled, and scoped to one resource group: neither counts for the subscription.
                _alert(sub, "alert-nsg-delete", "Microsoft.Network/networkSecurityGroups/delete", enabled=False),
                _alert(
                    sub,
                    "alert-security-solution-write",
                    "Microsoft.Security/securitySolutions/write",
                    scope=f"/subscriptions/{sub}/resourceGroups/{GROUP}",
                ),
            ]
        },
        f"{server[sql_prod]}/auditingSettings/default": _auditing("Enabled", 120),
        f"{server[sql_legacy]}/auditingSettings/default": _auditing("Disabled", 0),
        f"{server[sql_reporting]}/auditingSettings/default": _auditing("Enabled", 30),
        f"{server[sql_prod]}/firewallRules": {"value": [_firewall("office", "203.0.113.0", "203.0.113.255")]},
        f"{server[sql_legacy]}/firewallRules": {"value": [_firewall("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0")]},
        f"{server[sql_reporting]}/firewallRules": {
            "value": [
                _firewall("office", "203.0.113.0", "203.0.113.255"),
                _firewall("AllowAll", "0.0.0.0", "255.255.255.255"),
            ]
        },
        f"{database['appdb']}/transparentDataEncryption/current": {
            "name": "current",
            "properties": {"state": "Enabled"},
        },
        f"{database['legacydb']}/transparentDataEncryption/current": {
            "name": "current",
            "properties": {"state": "Disabled"},
        },
        f"{arm_id(sub, GROUP, 'Microsoft.DBforPostgreSQL/flexibleServers', 'psql-prod')}"
        "/configurations/require_secure_transport": _postgres_ssl("on"),
        f"{arm_id(sub, GROUP, 'Microsoft.DBforPostgreSQL/flexibleServers', 'psql-dev')}"
        "/configurations/require_secure_transport": _postgres_ssl("off"),
        f"{arm_id(sub, GROUP, 'Microsoft.Web/sites', 'app-portal')}/config/web": _site_config("1.2", "Disabled"),
        f"{arm_id(sub, GROUP, 'Microsoft.Web/sites', 'app-legacy')}/config/web": _site_config("1.0", "AllAllowed"),
    }
    return rows, details
