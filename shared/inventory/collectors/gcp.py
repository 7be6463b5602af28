"""GCP collector (Cloud Asset Inventory): resource types declared as data, one engine for paging and retries."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import google.auth
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import asset_v1
from google.oauth2 import service_account
from google.protobuf.json_format import MessageToDict

from shared.inventory.collectors.base import (
    GLOBAL_REGION,
    CollectedResource,
    CollectionError,
    Stopped,
    collectors,
    jsonable,
    never_stop,
    peer_code,
    refusal,
    resource_types,
)

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
RESOURCE, IAM_POLICY = "RESOURCE", "IAM_POLICY"
# api_core exception class names; ResourceExhausted is a TooManyRequests, so either name matches it.
THROTTLING_CODES = ("TooManyRequests", "ResourceExhausted", "ServiceUnavailable")
MAX_PAGE_SIZE = 1000  # Cloud Asset Inventory's own limit for list_assets
CALL_TIMEOUT = 60.0  # seconds per list_assets call; retries are ours, so no deadline spans calls


class GcpResource:
    """Declaration of one GCP resource type as Cloud Asset Inventory lists it; subclasses set attributes."""

    provider: ClassVar[str] = "gcp"
    # One list_assets call covers every location of a project: all GCP types go to the "global" shard.
    global_service: ClassVar[bool] = True
    asset_type: ClassVar[str]
    content_type: ClassVar[str] = RESOURCE
    name_field: ClassVar[str | None] = "name"  # field of the document holding the display name
    # Document key -> asset type of the same project, listed once and attached to every document
    # (for project-level checks such as "a sink exports every log entry").
    related: ClassVar[dict[str, str]] = {}
    volatile: ClassVar[tuple[str, ...]] = ()
    retryable_codes: ClassVar[tuple[str, ...]] = THROTTLING_CODES

    @classmethod
    def uid_prefix(cls) -> str:
        return "//"

    @classmethod
    def uid(cls, asset_name: str) -> str:
        return asset_name

    @classmethod
    def normalise(cls, document: dict) -> dict:
        """Derived fields that make policies simple (e.g. a rotation period in seconds)."""
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        value = document.get(cls.name_field) if cls.name_field else None
        return value if isinstance(value, str) and value else _short_id(asset_name)


class GcpIamPolicy(GcpResource):
    """The IAM policy of a resource (content type IAM_POLICY): bindings, audit configs, etag."""

    content_type = IAM_POLICY
    name_field = None
    volatile = ("etag",)

    @classmethod
    def uid(cls, asset_name: str) -> str:
        # The policy's asset has the resource's own name; the inventory keys rows on the uid, so
        # the policy gets a uid of its own rather than overwriting the resource's row.
        return f"{asset_name}#iamPolicy"


@resource_types.register("gcp.storage.bucket")
class StorageBucket(GcpResource):
    asset_type = "storage.googleapis.com/Bucket"
    volatile = ("updated", "etag", "metageneration")


@resource_types.register("gcp.storage.bucket-iam-policy")
class StorageBucketIamPolicy(GcpIamPolicy):
    asset_type = "storage.googleapis.com/Bucket"


@resource_types.register("gcp.compute.firewall")
class ComputeFirewall(GcpResource):
    asset_type = "compute.googleapis.com/Firewall"


@resource_types.register("gcp.compute.network")
class ComputeNetwork(GcpResource):
    asset_type = "compute.googleapis.com/Network"


@resource_types.register("gcp.compute.subnetwork")
class ComputeSubnetwork(GcpResource):
    asset_type = "compute.googleapis.com/Subnetwork"
    volatile = ("fingerprint",)


@resource_types.register("gcp.compute.instance")
class ComputeInstance(GcpResource):
    asset_type = "compute.googleapis.com/Instance"
    volatile = ("status", "lastStartTimestamp", "lastStopTimestamp", "fingerprint", "labelFingerprint")


@resource_types.register("gcp.compute.disk")
class ComputeDisk(GcpResource):
    asset_type = "compute.googleapis.com/Disk"
    volatile = ("status", "lastAttachTimestamp", "lastDetachTimestamp", "users", "labelFingerprint")


@resource_types.register("gcp.sql.instance")
class SqlInstance(GcpResource):
    asset_type = "sqladmin.googleapis.com/Instance"
    volatile = ("state", "etag", "serverCaCert")


def _short_id(asset_name: str) -> str:
    """The last segment of a full resource name: bucket, firewall, instance or dataset name, key id."""
    return asset_name.rstrip("/").rsplit("/", 1)[-1]


def _key_ring_and_key(asset_name: str) -> str:
    """.../keyRings/RING/cryptoKeys/KEY -> RING/KEY: key names repeat across key rings."""
    parts = asset_name.split("/")
    return f"{parts[-3]}/{parts[-1]}" if len(parts) > 4 and parts[-2] == "cryptoKeys" else _short_id(asset_name)


def _seconds(duration: Any) -> int | None:
    """A protobuf Duration in JSON ("7776000s", "86400.5s") as whole seconds."""
    if not isinstance(duration, str) or not duration.endswith("s"):
        return None
    try:
        return int(float(duration[:-1]))
    except (ValueError, OverflowError):  # "abc", or "1e400s" and "infs", which are no durations either
        return None


@resource_types.register("gcp.kms.crypto-key")
class KmsCryptoKey(GcpResource):
    asset_type = "cloudkms.googleapis.com/CryptoKey"
    volatile = ("nextRotationTime", "primary")

    @classmethod
    def normalise(cls, document: dict) -> dict:
        # The condition language compares numbers, not durations: expose the period in seconds.
        seconds = _seconds(document.get("rotationPeriod"))
        if seconds is not None:
            document["rotationPeriodSeconds"] = seconds
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return _key_ring_and_key(asset_name)


@resource_types.register("gcp.kms.crypto-key-iam-policy")
class KmsCryptoKeyIamPolicy(GcpIamPolicy):
    asset_type = "cloudkms.googleapis.com/CryptoKey"

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        return _key_ring_and_key(asset_name)


@resource_types.register("gcp.iam.service-account")
class IamServiceAccount(GcpResource):
    asset_type = "iam.googleapis.com/ServiceAccount"
    name_field = "email"
    volatile = ("etag",)


@resource_types.register("gcp.iam.service-account-key")
class IamServiceAccountKey(GcpResource):
    asset_type = "iam.googleapis.com/ServiceAccountKey"

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        # projects/P/serviceAccounts/EMAIL/keys/ID -> EMAIL/ID: a key id alone says nothing to a reader.
        parts = str(document.get("name", "")).split("/")
        return f"{parts[3]}/{parts[5]}" if len(parts) == 6 else _short_id(asset_name)


@resource_types.register("gcp.resourcemanager.project")
class Project(GcpResource):
    asset_type = "cloudresourcemanager.googleapis.com/Project"
    name_field = "projectId"
    related = {"logSinks": "logging.googleapis.com/LogSink"}


@resource_types.register("gcp.resourcemanager.project-iam-policy")
class ProjectIamPolicy(GcpIamPolicy):
    asset_type = "cloudresourcemanager.googleapis.com/Project"

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str | None) -> str:
        # The asset name carries the project number; people know the project id, when the upload has it.
        return project or asset_name.rsplit("/", 1)[-1]


@resource_types.register("gcp.container.cluster")
class ContainerCluster(GcpResource):
    asset_type = "container.googleapis.com/Cluster"
    volatile = ("status", "currentNodeCount", "currentMasterVersion", "currentNodeVersion", "conditions")


@resource_types.register("gcp.bigquery.dataset")
class BigQueryDataset(GcpResource):
    asset_type = "bigquery.googleapis.com/Dataset"
    name_field = None  # the asset name ends with the dataset id
    volatile = ("etag", "lastModifiedTime")


@resource_types.register("gcp.logging.sink")
class LoggingSink(GcpResource):
    asset_type = "logging.googleapis.com/LogSink"
    volatile = ("updateTime",)


def integral(value: Any) -> Any:
    """Integral floats as ints, recursively: Struct values come back as floats (1000.0), and a
    policy written against the API's JSON compares with 1000."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral(item) for item in value]
    return value


def _error(exc: Exception, resource_type: str | None, region: str | None, scope: str = "") -> CollectionError:
    where = {"resource_type": resource_type, "region": region}
    what = f"Cloud Asset Inventory listing of {scope}" if scope else "Cloud Asset Inventory listing"
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        status = exc.code if isinstance(exc.code, int) else None
        if isinstance(exc, api_exceptions.Unauthorized):
            code = "AuthenticationFailed"
        elif isinstance(exc, api_exceptions.Forbidden):
            code = "PermissionDenied"
        else:
            code = peer_code(type(exc).__name__, status)
        return CollectionError(code, refusal(what, code, status), **where)
    if isinstance(exc, (requests.RequestException, auth_exceptions.TransportError)):
        # The request never got an answer (connection, DNS, TLS): no peer text in it.
        return CollectionError("ConnectionError", str(exc)[:300], **where)
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        # A 401 makes the session refresh its credentials; when that fails, this is what surfaces.
        return CollectionError("AuthenticationFailed", f"{what} failed: the credentials were refused", **where)
    return CollectionError(type(exc).__name__, f"{what} failed ({type(exc).__name__})", **where)


# What a list_assets call can raise: API answers, sign-in failures, and the HTTP transport's errors.
CALL_ERRORS = (api_exceptions.GoogleAPICallError, auth_exceptions.GoogleAuthError, requests.RequestException)


def _is_retryable(exc: Exception, codes: tuple[str, ...]) -> bool:
    return any(cls.__name__ in codes for cls in type(exc).__mro__)


@collectors.register("gcp")
class GcpCollector:
    """Lists one project's assets through Cloud Asset Inventory: a service account key, anonymous
    credentials against a private or fake endpoint, or the application default credentials."""

    def __init__(self, account, credentials: dict, settings, *, sleep: Callable[[float], None] = time.sleep):
        self.endpoint_url = account.endpoint_url
        self.settings = settings
        self.sleep = sleep
        self.stop_reason: Callable[[], str | None] = never_stop
        self.retry_base = 0.5
        self.max_attempts = max(1, settings.aws_max_attempts)
        self.credentials, self.project, self.credential_kind = self._credentials(credentials)
        client_options = {"api_endpoint": self.endpoint_url} if self.endpoint_url else None
        # REST everywhere: the same code path as the tests' fake, and no gRPC channel per worker thread.
        self.client = asset_v1.AssetServiceClient(
            credentials=self.credentials, transport="rest", client_options=client_options
        )

    def _credentials(self, given: dict) -> tuple[Credentials, str, str]:
        project = given.get("project_id")
        raw = given.get("service_account_json")
        if raw:
            try:
                info = json.loads(raw)
                credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
            except (ValueError, TypeError, KeyError) as exc:
                raise CollectionError(
                    "InvalidCredentials", f"service_account_json is not a usable service account key: {exc}"
                ) from exc
            project = project or info.get("project_id")
            kind = f"service account {credentials.service_account_email}"
        elif self.endpoint_url:
            # A private or fake endpoint that does its own access control (or none): no Google sign-in.
            credentials, kind = AnonymousCredentials(), f"anonymous credentials against {self.endpoint_url}"
        else:
            try:
                credentials, default_project = google.auth.default(scopes=SCOPES)
            except auth_exceptions.DefaultCredentialsError as exc:
                raise CollectionError("NoCredentials", f"no Google credentials found: {exc}") from exc
            project = project or default_project
            kind = "application default credentials"
        if not project:
            raise CollectionError("InvalidCredentials", "a project_id is required (in the credentials or the key)")
        return credentials, project, kind

    def regions(self) -> list[str]:
        """One listing per project covers every location, so a project is one global shard."""
        return [GLOBAL_REGION]

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]:
        spec: type[GcpResource] = resource_types.get(resource_type)
        related = {
            key: [
                self._document(asset, RESOURCE)
                for page in self._asset_pages(spec, asset_type, RESOURCE, region)
                for asset in page.assets
            ]
            for key, asset_type in spec.related.items()
        }
        for page in self._asset_pages(spec, spec.asset_type, spec.content_type, region):
            resources = [self._resource(spec, asset, related) for asset in page.assets]
            if resources:
                yield resources

    def verify(self) -> list[dict]:
        """Can these credentials list the project's resources and IAM policies? One check each."""
        checks = [{"check": "credentials", "ok": True, "message": f"{self.credential_kind}, project {self.project}"}]
        for check, content_type in (("list-resources", RESOURCE), ("list-iam-policies", IAM_POLICY)):
            asset_types = sorted({spec.asset_type for _, spec in _gcp_types() if spec.content_type == content_type})
            try:
                pages = self._asset_pages(None, asset_types, content_type, GLOBAL_REGION, page_size=1)
                next(pages, None)
                pages.close()
            except CollectionError as exc:
                checks.append({"check": check, "ok": False, "message": f"{exc.code}: {exc.message}"})
                continue
            checks.append({"check": check, "ok": True, "message": f"list_assets ({content_type}) answered"})
        return checks

    def _asset_pages(
        self,
        spec: type[GcpResource] | None,
        asset_types: str | list[str],
        content_type: str,
        region: str,
        *,
        page_size: int | None = None,
    ) -> Iterator[asset_v1.ListAssetsResponse]:
        """Every page of one listing, following nextPageToken. A throttled page is asked for again
        after a back-off, from its own page token, so pages already yielded are not listed twice."""
        name = getattr(spec, "registry_name", None)
        retryable = spec.retryable_codes if spec else THROTTLING_CODES
        request = {
            "parent": f"projects/{self.project}",
            "asset_types": [asset_types] if isinstance(asset_types, str) else list(asset_types),
            "content_type": asset_v1.ContentType[content_type],
            "page_size": page_size or min(MAX_PAGE_SIZE, self.settings.page_size),
        }
        token, pages, attempt = "", None, 1
        while True:
            try:
                if pages is None:
                    # retry=None: the SDK's own retry would hide throttling from our back-off and limit.
                    pager = self.client.list_assets(
                        request={**request, "page_token": token}, retry=None, timeout=CALL_TIMEOUT
                    )
                    pages = pager.pages
                page = next(pages, None)
            except CALL_ERRORS as exc:
                if not _is_retryable(exc, retryable):
                    raise _error(exc, name, region, request["parent"]) from exc
                if attempt >= self.max_attempts:
                    reason = _error(exc, name, region, request["parent"]).message
                    message = f"still throttled after {attempt} attempts: {reason}"
                    raise CollectionError("Throttled", message, resource_type=name, region=region) from exc
                if reason := self.stop_reason():  # a back-off is no reason to keep a cancelled scan's worker
                    raise Stopped(reason) from None
                self.sleep(min(20.0, self.retry_base * 2 ** (attempt - 1)))
                attempt, pages = attempt + 1, None
                continue
            if page is None:
                return
            attempt = 1
            yield page
            token = page.next_page_token
            if not token:
                return

    def _resource(
        self, spec: type[GcpResource], asset: asset_v1.Asset, related: dict[str, list[dict]]
    ) -> CollectedResource:
        document = spec.normalise({**self._document(asset, spec.content_type), **related})
        return CollectedResource(
            uid=spec.uid(asset.name),
            id=_short_id(asset.name),
            name=spec.display_name(document, asset.name, self.project),
            resource_type=spec.registry_name,
            region=asset.resource.location or GLOBAL_REGION,
            document=document,
            volatile=spec.volatile,
        )

    @staticmethod
    def _document(asset: asset_v1.Asset, content_type: str) -> dict:
        """The resource's data (or its IAM policy) as the API's own JSON, integral numbers as ints."""
        message = asset_v1.Asset.pb(asset)
        source = message.iam_policy if content_type == IAM_POLICY else message.resource.data
        return integral(MessageToDict(source))  # MessageToDict gives JSON types only


def _gcp_types() -> list[tuple[str, type[GcpResource]]]:
    return [(name, spec) for name, spec in resource_types.items() if getattr(spec, "provider", None) == "gcp"]


def from_export(assets: list[dict]) -> list[CollectedResource]:
    """The lines of a `gcloud asset export` (RESOURCE and/or IAM_POLICY content) shaped exactly as
    the live collector shapes them, related documents included, so uploaded and listed assets
    meet the same policies. Asset types we have no declaration for are left out."""
    by_type: dict[tuple[str, str], list[dict]] = {}
    for asset in assets:
        if "resource" in asset:
            parent = asset["resource"].get("parent", "")
            data = jsonable(integral(asset["resource"].get("data") or {}))
            by_type.setdefault((parent, asset.get("assetType", "")), []).append(data)
    specs = {(s.asset_type, s.content_type): s for _, s in _gcp_types()}
    # Display names use project ids; exports name projects by number, their Project assets map one to the other.
    project_ids = {
        str(data.get("projectNumber")): data.get("projectId")
        for (_, asset_type), documents in by_type.items()
        if asset_type == Project.asset_type
        for data in documents
    }
    resources = []
    for asset in assets:
        content_type = IAM_POLICY if "iamPolicy" in asset else RESOURCE
        spec = specs.get((asset.get("assetType"), content_type))
        if spec is None:
            continue
        resource = asset.get("resource") or {}
        parent = resource.get("parent", "")
        source = asset["iamPolicy"] if content_type == IAM_POLICY else resource.get("data") or {}
        related = {key: by_type.get((parent, asset_type), []) for key, asset_type in spec.related.items()}
        name = asset["name"]
        number = (parent or name).rsplit("/", 1)[-1]
        document = spec.normalise({**jsonable(integral(source)), **related})
        resources.append(
            CollectedResource(
                uid=spec.uid(name),
                id=_short_id(name),
                name=spec.display_name(document, name, project_ids.get(number, number)),
                resource_type=spec.registry_name,
                region=resource.get("location") or GLOBAL_REGION,
                document=document,
                volatile=spec.volatile,
            )
        )
    return resources
