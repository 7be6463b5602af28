"""A fake Cloud Asset Inventory (REST `GET /v1/{parent=*/*}/assets`) on 127.0.0.1, and a seeded estate."""

from __future__ import annotations

import base64
import json
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

# ContentType as the REST client sends it (`$alt=json;enum-encoding=int`) and by name.
CONTENT_TYPES = {"0": "CONTENT_TYPE_UNSPECIFIED", "1": "RESOURCE", "2": "IAM_POLICY"}
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000
DISCOVERY = {
    "storage.googleapis.com": ("https://storage.googleapis.com/$discovery/rest", "v1"),
    "compute.googleapis.com": ("https://www.googleapis.com/discovery/v1/apis/compute/v1/rest", "v1"),
    "sqladmin.googleapis.com": ("https://sqladmin.googleapis.com/$discovery/rest", "v1beta4"),
    "cloudkms.googleapis.com": ("https://cloudkms.googleapis.com/$discovery/rest", "v1"),
    "iam.googleapis.com": ("https://iam.googleapis.com/$discovery/rest", "v1"),
    "cloudresourcemanager.googleapis.com": ("https://cloudresourcemanager.googleapis.com/$discovery/rest", "v1"),
    "container.googleapis.com": ("https://container.googleapis.com/$discovery/rest", "v1"),
    "bigquery.googleapis.com": ("https://bigquery.googleapis.com/$discovery/rest", "v2"),
    "logging.googleapis.com": ("https://logging.googleapis.com/$discovery/rest", "v2"),
}


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: a scan makes dozens of calls."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass(frozen=True)
class StoredAsset:
    project_id: str
    project_number: str
    asset: dict  # the documented Asset JSON, resource and iamPolicy both (content type picks)


def make_asset(
    project_id: str,
    project_number: str,
    asset_type: str,
    name: str,
    data: dict,
    *,
    location: str = "global",
    iam_policy: dict | None = None,
    parent: str | None = None,
) -> StoredAsset:
    """One asset in the shape list_assets answers with (`name` is the full resource name). Its
    parent is its project, unless given: a Project's parent is its organization or folder."""
    service, kind = asset_type.split("/")
    discovery_uri, version = DISCOVERY[service]
    asset = {
        "name": name,
        "assetType": asset_type,
        "resource": {
            "version": version,
            "discoveryDocumentUri": discovery_uri,
            "discoveryName": kind,
            "parent": parent or f"//cloudresourcemanager.googleapis.com/projects/{project_number}",
            "data": data,
            "location": location,
        },
        "ancestors": [f"projects/{project_number}", "organizations/433637338589"],
        "updateTime": "2026-11-20T08:15:00.123456Z",
    }
    if iam_policy is not None:
        asset["iamPolicy"] = iam_policy
    return StoredAsset(project_id, project_number, asset)


class FakeAssetInventory:
    """Answers list_assets from an in-memory asset list: filters by project, asset type and content
    type, pages by pageSize/pageToken. Faults: 429 (or 503) for the next N calls, 403 for a project,
    401 for a project (credentials the API does not accept)."""

    def __init__(self, assets: list[StoredAsset] | None = None):
        self.assets: list[StoredAsset] = list(assets or [])
        self.calls = 0
        self.requests: list[dict] = []  # query of every call, for assertions on what was asked
        self.throttle_next = 0
        self.throttle_status = 429
        self.denied_projects: set[str] = set()
        self.rejected_projects: set[str] = set()
        self.authorization: str | None = None  # the last Authorization header seen
        self._answers: dict[tuple, list[dict]] = {}  # matches per listing, so paging is not O(n) per page
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval: shutdown waits for it, and every test stops a server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def add(self, *assets: StoredAsset) -> None:
        self.assets.extend(assets)

    def throttle(self, calls: int, status: int = 429) -> None:
        """Answer the next `calls` calls with `status` (429 quota exceeded, or 503)."""
        self.throttle_next, self.throttle_status = calls, status

    def deny(self, project_id: str) -> None:
        self.denied_projects.add(project_id)

    def reject(self, project_id: str) -> None:
        self.rejected_projects.add(project_id)

    def __enter__(self) -> FakeAssetInventory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ, start_response):
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "v1" or parts[3] != "assets" or request.method != "GET":
            return _error(404, "NOT_FOUND", f"no route for {request.method} {request.path}")
        parent = f"{parts[1]}/{parts[2]}"
        with self._lock:
            self.calls += 1
            self.authorization = request.headers.get("Authorization")
            self.requests.append({"parent": parent, **{k: request.args.getlist(k) for k in request.args}})
            if self.throttle_next > 0:
                self.throttle_next -= 1
                if self.throttle_status == 503:
                    return _error(503, "UNAVAILABLE", "The service is currently unavailable.")
                return _error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'List Assets requests' and limit 'List Assets requests per "
                    "minute per project' of service 'cloudasset.googleapis.com'.",
                )
        kind, _, project = parent.partition("/")
        if kind != "projects":
            return _error(400, "INVALID_ARGUMENT", "the fake knows projects only")
        if project in self.rejected_projects:
            return _error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential.",
            )
        if project in self.denied_projects:
            return _error(
                403,
                "PERMISSION_DENIED",
                f"The caller does not have permission: cloudasset.assets.listResource on projects/{project}.",
            )
        content_type = CONTENT_TYPES.get(request.args.get("contentType", "0"), request.args.get("contentType"))
        asset_types = set(request.args.getlist("assetTypes"))
        key = (project, tuple(sorted(asset_types)), content_type, len(self.assets))
        matching = self._answers.get(key)
        if matching is None:
            matching = self._answers[key] = [
                stored.asset
                for stored in self.assets
                if project in (stored.project_id, stored.project_number)
                and (not asset_types or stored.asset["assetType"] in asset_types)
                and (content_type != "IAM_POLICY" or "iamPolicy" in stored.asset)
            ]
        try:
            size = min(MAX_PAGE_SIZE, int(request.args.get("pageSize") or DEFAULT_PAGE_SIZE))
            start = (
                int(base64.urlsafe_b64decode(request.args["pageToken"]).decode())
                if request.args.get("pageToken")
                else 0
            )
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid page token or page size.")
        body: dict = {"assets": [_shaped(a, content_type) for a in matching[start : start + size]], "readTime": _now()}
        if start + size < len(matching):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return Response(json.dumps(body), content_type="application/json")


def _shaped(asset: dict, content_type: str) -> dict:
    """What list_assets returns per content type: the resource, or the IAM policy, or only names."""
    shaped = {key: asset[key] for key in ("name", "assetType", "ancestors", "updateTime")}
    if content_type == "RESOURCE":
        shaped["resource"] = asset["resource"]
    elif content_type == "IAM_POLICY":
        shaped["iamPolicy"] = asset["iamPolicy"]
    return shaped


def _error(code: int, status: str, message: str) -> Response:
    body = {"error": {"code": code, "message": message, "status": status}}
    return Response(json.dumps(body), status=code, content_type="application/json")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------------------------
# A small, deliberately imperfect estate: field names and shapes as the GCP APIs return them.

PROJECT, PROJECT_NUMBER = "acme-prod", "123456789012"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def seed_estate(project: str = PROJECT, number: str = PROJECT_NUMBER) -> list[StoredAsset]:
    """Every seeded resource type, with passing and failing examples of the GCP policies."""

    def asset(asset_type: str, name: str, data: dict, **kwargs) -> StoredAsset:
        return make_asset(project, number, asset_type, name, data, **kwargs)

    compute = f"//compute.googleapis.com/projects/{project}"
    default_sa = f"{number}-compute@developer.gserviceaccount.com"
    app_sa = f"app-runner@{project}.iam.gserviceaccount.com"
    return [
        *_firewalls(asset, compute, project),
        *_networks(asset, compute, project),
        *_instances(asset, compute, project, default_sa, app_sa),
        *_storage(asset, project, number),
        *_sql(asset, project),
        *_kms(asset, project, number),
        *_iam(asset, project, number, default_sa, app_sa),
        *_project(asset, project, number),
        *_clusters_and_datasets(asset, project, number),
    ]


def _numeric_id(name: str) -> str:
    """A stable numeric id, as Compute Engine gives every resource (uint64 as a JSON string)."""
    return str(7_000_000_000_000_000 + zlib.crc32(name.encode()))


def _firewall(project: str, name: str, network: str = "default", **fields) -> dict:
    return {
        "id": _numeric_id(name),
        "name": name,
        "network": f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/{network}",
        "priority": 1000,
        "direction": "INGRESS",
        "disabled": False,
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project}/global/firewalls/{name}",
        "creationTimestamp": "2024-03-04T09:12:44.551-08:00",
        "logConfig": {"enable": False},
        "kind": "compute#firewall",
        **fields,
    }


def _firewalls(asset, compute: str, project: str) -> list[StoredAsset]:
    world = ["0.0.0.0/0"]
    rules = [
        _firewall(project, "default-allow-ssh", sourceRanges=world, allowed=[{"IPProtocol": "tcp", "ports": ["22"]}],
                  priority=65534),
        _firewall(project, "default-allow-rdp", sourceRanges=world,
                  allowed=[{"IPProtocol": "tcp", "ports": ["3389"]}], priority=65534),
        _firewall(project, "default-allow-internal", sourceRanges=["10.128.0.0/9"], priority=65534, allowed=[
            {"IPProtocol": "tcp", "ports": ["0-65535"]},
            {"IPProtocol": "udp", "ports": ["0-65535"]},
            {"IPProtocol": "icmp"},
        ]),
        _firewall(project, "allow-all-ingress", "prod-vpc", sourceRanges=world, allowed=[{"IPProtocol": "all"}]),
        _firewall(project, "allow-https", "prod-vpc", sourceRanges=world, targetTags=["web"],
                  allowed=[{"IPProtocol": "tcp", "ports": ["443"]}]),
        _firewall(project, "allow-ssh-from-iap", "prod-vpc", sourceRanges=["35.235.240.0/20"],
                  allowed=[{"IPProtocol": "tcp", "ports": ["22", "3389"]}]),
        _firewall(project, "old-ssh-disabled", "prod-vpc", sourceRanges=world, disabled=True,
                  allowed=[{"IPProtocol": "tcp", "ports": ["22"]}]),
        _firewall(project, "allow-egress-all", "prod-vpc", direction="EGRESS", destinationRanges=world,
                  allowed=[{"IPProtocol": "all"}]),
    ]  # fmt: skip
    return [asset("compute.googleapis.com/Firewall", f"{compute}/global/firewalls/{r['name']}", r) for r in rules]


def _networks(asset, compute: str, project: str) -> list[StoredAsset]:
    base = f"https://www.googleapis.com/compute/v1/projects/{project}"
    networks = [
        {"name": "default", "autoCreateSubnetworks": True, "routingConfig": {"routingMode": "REGIONAL"}, "mtu": 1460},
        {"name": "prod-vpc", "autoCreateSubnetworks": False, "routingConfig": {"routingMode": "GLOBAL"}, "mtu": 1460},
        {"name": "legacy-net", "IPv4Range": "10.240.0.0/16", "gatewayIPv4": "10.240.0.1"},
    ]
    subnets = [
        {
            "name": "prod-app",
            "network": f"{base}/global/networks/prod-vpc",
            "region": f"{base}/regions/us-central1",
            "ipCidrRange": "10.10.0.0/20",
            "privateIpGoogleAccess": True,
            "purpose": "PRIVATE",
            "logConfig": {
                "enable": True,
                "aggregationInterval": "INTERVAL_5_SEC",
                "flowSampling": 0.5,
                "metadata": "INCLUDE_ALL_METADATA",
            },
        },
        {
            "name": "default",
            "network": f"{base}/global/networks/default",
            "region": f"{base}/regions/us-central1",
            "ipCidrRange": "10.128.0.0/20",
            "privateIpGoogleAccess": False,
            "purpose": "PRIVATE",
        },
        {
            "name": "proxy-only",
            "network": f"{base}/global/networks/prod-vpc",
            "region": f"{base}/regions/us-central1",
            "ipCidrRange": "10.129.0.0/23",
            "purpose": "REGIONAL_MANAGED_PROXY",
            "role": "ACTIVE",
        },
    ]
    return [
        *(
            asset(
                "compute.googleapis.com/Network",
                f"{compute}/global/networks/{n['name']}",
                {**n, "id": _numeric_id(n["name"])},
            )
            for n in networks
        ),
        *(
            asset(
                "compute.googleapis.com/Subnetwork",
                f"{compute}/regions/us-central1/subnetworks/{s['name']}",
                {**s, "gatewayAddress": s["ipCidrRange"].replace(".0/", ".1/").split("/")[0], "fingerprint": "x0A="},
                location="us-central1",
            )
            for s in subnets
        ),
    ]


def _instance(project: str, name: str, zone: str, service_account: str, **fields) -> dict:
    base = f"https://www.googleapis.com/compute/v1/projects/{project}"
    return {
        "id": _numeric_id(name),
        "name": name,
        "zone": f"{base}/zones/{zone}",
        "machineType": f"{base}/zones/{zone}/machineTypes/e2-medium",
        "status": "RUNNING",
        "canIpForward": False,
        "serviceAccounts": [{"email": service_account, "scopes": [CLOUD_PLATFORM]}],
        "networkInterfaces": [
            {"name": "nic0", "network": f"{base}/global/networks/prod-vpc", "networkIP": "10.10.0.5"}
        ],
        "disks": [
            {"boot": True, "deviceName": name, "source": f"{base}/zones/{zone}/disks/{name}", "diskSizeGb": "10"}
        ],
        "metadata": {"fingerprint": "abc=", "items": []},
        "shieldedInstanceConfig": {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True},
        "scheduling": {"automaticRestart": True, "onHostMaintenance": "MIGRATE"},
        "lastStartTimestamp": "2026-11-01T10:00:00.000-07:00",
        **fields,
    }


def _instances(asset, compute: str, project: str, default_sa: str, app_sa: str) -> list[StoredAsset]:
    public_nic = {
        "name": "nic0",
        "networkIP": "10.10.0.2",
        "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "34.122.8.17"}],
    }
    block_keys = {"fingerprint": "abc=", "items": [{"key": "block-project-ssh-keys", "value": "true"}]}
    zone = "us-central1-a"
    # A NAT gateway: forwards packets, has a public address, and was created without Shielded VM.
    nat_gateway = _instance(
        project, "nat-gw", zone, app_sa, metadata=block_keys, canIpForward=True, networkInterfaces=[public_nic]
    )
    del nat_gateway["shieldedInstanceConfig"]
    instances = [
        # Default service account with full API access, serial port, public IP, project SSH keys allowed.
        _instance(
            project, "web-1", zone, default_sa,
            metadata={"fingerprint": "abc=", "items": [{"key": "serial-port-enable", "value": "true"}]},
            networkInterfaces=[public_nic],
            shieldedInstanceConfig={"enableSecureBoot": False, "enableVtpm": True, "enableIntegrityMonitoring": True},
        ),
        _instance(project, "app-1", zone, app_sa, metadata=block_keys),
        nat_gateway,
        # A GKE node: CIS exempts GKE-managed instances from the default-account, forwarding and IP checks.
        _instance(project, "gke-prod-cluster-default-pool-3f2a1b9c-x7k2", zone, default_sa, canIpForward=True,
                  networkInterfaces=[public_nic]),
    ]  # fmt: skip
    disks = [
        {"name": "web-1", "sizeGb": "10", "type": "pd-balanced", "status": "READY"},
        {
            "name": "app-1",
            "sizeGb": "50",
            "type": "pd-ssd",
            "status": "READY",
            "diskEncryptionKey": {
                "kmsKeyName": f"projects/{project}/locations/us-central1/keyRings/app/cryptoKeys/disk/"
                "cryptoKeyVersions/1"
            },
        },
    ]
    return [
        *(
            asset("compute.googleapis.com/Instance", f"{compute}/zones/{zone}/instances/{i['name']}", i, location=zone)
            for i in instances
        ),
        *(asset("compute.googleapis.com/Disk", f"{compute}/zones/{zone}/disks/{d['name']}", d, location=zone)
          for d in disks),
    ]  # fmt: skip


def _bucket(project: str, number: str, name: str, location: str, iam_configuration: dict, **fields) -> dict:
    return {
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "projectNumber": number,
        "location": location.upper(),
        "locationType": "multi-region" if location == "us" else "region",
        "storageClass": "STANDARD",
        "iamConfiguration": iam_configuration,
        "timeCreated": "2024-05-02T11:20:31.412Z",
        "updated": "2026-10-02T08:01:12.000Z",
        "metageneration": "3",
        "etag": "CAM=",
        **fields,
    }


def _storage(asset, project: str, number: str) -> list[StoredAsset]:
    default_bindings = [
        {"role": "roles/storage.legacyBucketOwner", "members": [f"projectEditor:{project}", f"projectOwner:{project}"]},
        {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project}"]},
    ]
    buckets = [
        (
            _bucket(project, number, f"{project}-logs", "us", {
                "uniformBucketLevelAccess": {"enabled": True, "lockedTime": "2024-08-01T00:00:00Z"},
                "publicAccessPrevention": "enforced",
            }, versioning={"enabled": True}, logging={"logBucket": f"{project}-audit"}),
            {"version": 1, "etag": "CAE=", "bindings": [
                *default_bindings,
                {"role": "roles/storage.objectViewer", "members": ["group:security@acme.example"]},
            ]},
        ),
        (
            _bucket(project, number, f"{project}-public-assets", "us-central1", {
                "uniformBucketLevelAccess": {"enabled": True},
                "publicAccessPrevention": "inherited",
            }, website={"mainPageSuffix": "index.html"}),
            {"version": 1, "etag": "CAI=", "bindings": [
                *default_bindings,
                {"role": "roles/storage.objectViewer", "members": ["allUsers"]},
            ]},
        ),
        (
            _bucket(project, number, f"{project}-legacy-uploads", "us-central1",
                    {"uniformBucketLevelAccess": {"enabled": False}}),
            {"version": 1, "etag": "CAM=", "bindings": default_bindings},
        ),
    ]  # fmt: skip
    return [
        asset(
            "storage.googleapis.com/Bucket",
            f"//storage.googleapis.com/projects/_/buckets/{data['name']}",
            data,
            location=data["location"].lower(),
            iam_policy=policy,
        )
        for data, policy in buckets
    ]


def _sql_instance(project: str, name: str, ip_configuration: dict, backup: dict, **fields) -> dict:
    return {
        "kind": "sql#instance",
        "name": name,
        "project": project,
        "region": "us-central1",
        "databaseVersion": "POSTGRES_15",
        "instanceType": "CLOUD_SQL_INSTANCE",
        "state": "RUNNABLE",
        "backendType": "SECOND_GEN",
        "connectionName": f"{project}:us-central1:{name}",
        "settings": {
            "tier": "db-custom-2-7680",
            "availabilityType": "REGIONAL",
            "dataDiskSizeGb": "100",
            "dataDiskType": "PD_SSD",
            "ipConfiguration": ip_configuration,
            "backupConfiguration": backup,
            "settingsVersion": "7",
            "databaseFlags": [{"name": "log_connections", "value": "on"}],
        },
        **fields,
    }


def _sql(asset, project: str) -> list[StoredAsset]:
    private = f"projects/{project}/global/networks/prod-vpc"
    good_backup = {
        "enabled": True,
        "startTime": "03:00",
        "pointInTimeRecoveryEnabled": True,
        "transactionLogRetentionDays": 7,
        "backupRetentionSettings": {"retainedBackups": 7, "retentionUnit": "COUNT"},
    }
    instances = [
        _sql_instance(
            project,
            "orders-db",
            {"ipv4Enabled": False, "privateNetwork": private, "requireSsl": True, "sslMode": "ENCRYPTED_ONLY",
             "authorizedNetworks": []},
            good_backup,
        ),
        _sql_instance(
            project,
            "reporting-db",
            {"ipv4Enabled": True, "requireSsl": False, "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
             "authorizedNetworks": [{"kind": "sql#aclEntry", "name": "anywhere", "value": "0.0.0.0/0"}]},
            {"enabled": False, "startTime": "23:00", "binaryLogEnabled": False},
            databaseVersion="MYSQL_8_0",
        ),
        _sql_instance(
            project,
            "orders-db-replica",
            {"ipv4Enabled": False, "privateNetwork": private, "requireSsl": True, "sslMode": "ENCRYPTED_ONLY"},
            {"enabled": False},
            instanceType="READ_REPLICA_INSTANCE",
            masterInstanceName=f"{project}:orders-db",
        ),
    ]  # fmt: skip
    return [
        asset(
            "sqladmin.googleapis.com/Instance",
            f"//cloudsql.googleapis.com/projects/{project}/instances/{i['name']}",
            i,
            location="us-central1",
        )
        for i in instances
    ]


def _kms(asset, project: str, number: str) -> list[StoredAsset]:
    ring = f"projects/{project}/locations/us-central1/keyRings/app"
    system_agent = f"serviceAccount:service-{number}@compute-system.iam.gserviceaccount.com"
    keys = [
        ({"rotationPeriod": "7776000s", "nextRotationTime": "2027-01-01T00:00:00Z"}, "disk",
         {"version": 1, "etag": "BwX=", "bindings": [
             {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": [system_agent]}]}),
        ({}, "legacy",
         {"version": 1, "etag": "BwY=", "bindings": [
             {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": ["allAuthenticatedUsers"]}]}),
        ({"rotationPeriod": "31536000s", "nextRotationTime": "2027-06-01T00:00:00Z"}, "yearly", None),
        ({"purpose": "ASYMMETRIC_SIGN", "versionTemplate": {"algorithm": "EC_SIGN_P256_SHA256"}}, "signing", None),
    ]  # fmt: skip
    return [
        asset(
            "cloudkms.googleapis.com/CryptoKey",
            f"//cloudkms.googleapis.com/{ring}/cryptoKeys/{key}",
            {
                "name": f"{ring}/cryptoKeys/{key}",
                "purpose": "ENCRYPT_DECRYPT",
                "createTime": "2024-02-10T12:00:00.000000Z",
                "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"},
                "destroyScheduledDuration": "2592000s",
                **fields,
            },
            location="us-central1",
            iam_policy=policy,
        )
        for fields, key, policy in keys
    ]


def _iam(asset, project: str, number: str, default_sa: str, app_sa: str) -> list[StoredAsset]:
    accounts = [
        ("104583927561034857731", app_sa, "App runner"),
        ("117420395817465029346", default_sa, "Compute Engine default service account"),
        ("109238475610293847561", f"ci-deployer@{project}.iam.gserviceaccount.com", "CI deployer"),
    ]
    keys = [
        ("6f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c", app_sa, "USER_MANAGED", "KEY_ORIGIN_GOOGLE_PROVIDED"),
        ("0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b", app_sa, "SYSTEM_MANAGED", "GOOGLE_PROVIDED"),
    ]
    return [
        *(
            asset(
                "iam.googleapis.com/ServiceAccount",
                f"//iam.googleapis.com/projects/{project}/serviceAccounts/{unique_id}",
                {
                    "name": f"projects/{project}/serviceAccounts/{email}",
                    "projectId": project,
                    "uniqueId": unique_id,
                    "email": email,
                    "displayName": display,
                    "oauth2ClientId": unique_id,
                    "etag": "MDEwMjE5MjA=",
                },
            )
            for unique_id, email, display in accounts
        ),
        *(
            asset(
                "iam.googleapis.com/ServiceAccountKey",
                f"//iam.googleapis.com/projects/{project}/serviceAccounts/{accounts[0][0]}/keys/{key_id}",
                {
                    "name": f"projects/{project}/serviceAccounts/{email}/keys/{key_id}",
                    "validAfterTime": "2025-01-15T10:00:00Z",
                    "validBeforeTime": "9999-12-31T23:59:59Z",
                    "keyAlgorithm": "KEY_ALG_RSA_2048",
                    "keyOrigin": origin,
                    "keyType": key_type,
                },
            )
            for key_id, email, key_type, origin in keys
        ),
    ]


def _project(asset, project: str, number: str) -> list[StoredAsset]:
    sinks = [
        {"name": "_Required", "destination": f"logging.googleapis.com/projects/{project}/locations/global/buckets/"
         "_Required", "filter": 'LOG_ID("cloudaudit.googleapis.com/activity") OR '
         'LOG_ID("externalaudit.googleapis.com/activity")'},
        {"name": "_Default", "destination": f"logging.googleapis.com/projects/{project}/locations/global/buckets/"
         "_Default", "filter": 'NOT LOG_ID("cloudaudit.googleapis.com/activity")'},
        {"name": "audit-to-bigquery", "destination": f"bigquery.googleapis.com/projects/{project}/datasets/audit",
         "filter": 'logName:"cloudaudit.googleapis.com"', "writerIdentity":
         f"serviceAccount:service-{number}@gcp-sa-logging.iam.gserviceaccount.com"},
    ]  # fmt: skip
    iam_policy = {
        "version": 1,
        "etag": "BwYF1p2RVnE=",
        "bindings": [
            {"role": "roles/owner", "members": ["user:alice@acme.example", f"serviceAccount:ci-deployer@{project}"
                                                ".iam.gserviceaccount.com"]},
            {"role": "roles/editor", "members": [f"serviceAccount:{number}@cloudservices.gserviceaccount.com"]},
            {"role": "roles/iam.serviceAccountUser", "members": ["user:bob@acme.example"]},
            {"role": "roles/viewer", "members": ["user:carol.contractor@gmail.com", "group:eng@acme.example"]},
            {"role": "roles/logging.viewer", "members": ["group:security@acme.example"]},
        ],
        "auditConfigs": [
            {"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}, {"logType": "DATA_WRITE"}]}
        ],
    }  # fmt: skip
    project_data = {
        "projectNumber": number,
        "projectId": project,
        "lifecycleState": "ACTIVE",
        "name": "ACME Production",
        "createTime": "2023-09-12T14:03:11.512Z",
        "parent": {"type": "organization", "id": "433637338589"},
        "labels": {"env": "production"},
    }
    return [
        asset(
            "cloudresourcemanager.googleapis.com/Project",
            f"//cloudresourcemanager.googleapis.com/projects/{number}",
            project_data,
            iam_policy=iam_policy,
            parent=f"//cloudresourcemanager.googleapis.com/organizations/{project_data['parent']['id']}",
        ),
        *(
            asset("logging.googleapis.com/LogSink", f"//logging.googleapis.com/projects/{number}/sinks/{s['name']}", s)
            for s in sinks
        ),
    ]


def _clusters_and_datasets(asset, project: str, number: str) -> list[StoredAsset]:
    clusters = [
        {
            "name": "prod-cluster",
            "location": "us-central1",
            "currentMasterVersion": "1.30.5-gke.1014001",
            "currentNodeCount": 6,
            "status": "RUNNING",
            "legacyAbac": {},
            "privateClusterConfig": {
                "enablePrivateNodes": True,
                "enablePrivateEndpoint": False,
                "masterIpv4CidrBlock": "172.16.0.0/28",
            },
            "masterAuthorizedNetworksConfig": {"enabled": True, "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]},
            "shieldedNodes": {"enabled": True},
        },
        {
            "name": "legacy-cluster",
            "location": "us-central1-a",
            "currentMasterVersion": "1.29.8-gke.1031000",
            "currentNodeCount": 3,
            "status": "RUNNING",
            "legacyAbac": {"enabled": True},
            "networkConfig": {"network": f"projects/{project}/global/networks/default"},
        },
    ]
    owners = {"role": "OWNER", "specialGroup": "projectOwners"}
    readers = {"role": "READER", "specialGroup": "projectReaders"}
    kms_key = f"projects/{project}/locations/us/keyRings/bq/cryptoKeys/datasets"
    datasets = [
        {
            "datasetReference": {"datasetId": "analytics", "projectId": project},
            "id": f"{project}:analytics",
            "location": "US",
            "access": [owners, readers, {"role": "WRITER", "userByEmail": f"etl@{project}.iam.gserviceaccount.com"}],
            "defaultEncryptionConfiguration": {"kmsKeyName": kms_key},
            "defaultTableExpirationMs": "7776000000",
            "lastModifiedTime": "1732000000000",
        },
        {
            "datasetReference": {"datasetId": "public_exports", "projectId": project},
            "id": f"{project}:public_exports",
            "location": "US",
            "access": [owners, readers, {"role": "READER", "iamMember": "allUsers"}],
            "lastModifiedTime": "1732000000000",
        },
    ]
    return [
        *(
            asset(
                "container.googleapis.com/Cluster",
                f"//container.googleapis.com/projects/{project}/locations/{c['location']}/clusters/{c['name']}",
                c,
                location=c["location"],
            )
            for c in clusters
        ),
        *(
            asset(
                "bigquery.googleapis.com/Dataset",
                f"//bigquery.googleapis.com/projects/{project}/datasets/{d['datasetReference']['datasetId']}",
                d,
                location=d["location"].lower(),
            )
            for d in datasets
        ),
    ]
