"""The GCP engine: lists the declared resource types of one project through Cloud Asset Inventory
with paging and retries, and shapes `gcloud asset export` lines the same way; errors are typed and
recorded, never read as "no resources"."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

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
    NOT_CHECKED_UNREACHABLE,
    CollectedResource,
    CollectionError,
    Stopped,
    collectors,
    jsonable,
    never_stop,
    peer_code,
    refusal,
    resource_types,
    unreachable,
)
from shared.inventory.collectors.gcp.declare import (
    IAM_POLICY,
    PROJECT_ASSET_TYPE,
    RESOURCE,
    THROTTLING_CODES,
    GcpResource,
    integral,
    short_id,
)
from shared.inventory.collectors.gcp.shaping import json_names
from shared.inventory.tags import with_tags

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
ASSET_ENDPOINT = "https://cloudasset.googleapis.com"  # AssetServiceClient's own default
MAX_PAGE_SIZE = 1000  # Cloud Asset Inventory's own limit for list_assets
CALL_TIMEOUT = 60.0  # seconds per list_assets call; retries are ours, so no deadline spans calls


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
        own: list | None = None
        if spec.content_type == RESOURCE and spec.asset_type in spec.related.values():
            # The type relates to itself (a firewall rule is evaluated among its network's): one listing.
            own = list(self._asset_pages(spec, spec.asset_type, RESOURCE, region))
        related = {
            key: [
                self._document(asset, RESOURCE)
                for page in (
                    own
                    if own is not None and asset_type == spec.asset_type
                    else self._asset_pages(spec, asset_type, RESOURCE, region)
                )
                for asset in page.assets
            ]
            for key, asset_type in spec.related.items()
        }
        policies = (
            {
                asset.name: self._document(asset, IAM_POLICY)
                for page in self._asset_pages(spec, spec.asset_type, IAM_POLICY, region)
                for asset in page.assets
            }
            if spec.own_iam_policy
            else {}
        )
        pages = own if own is not None else self._asset_pages(spec, spec.asset_type, spec.content_type, region)
        for page in pages:
            resources = [
                self._resource(spec, asset, {**related, "iamPolicy": policies.get(asset.name, {})})
                if spec.own_iam_policy
                else self._resource(spec, asset, related)
                for asset in page.assets
            ]
            if resources:
                yield resources

    def verify(self) -> list[dict]:
        """Can these credentials list the project's resources and IAM policies? One check each."""
        checks = [{"check": "credentials", "ok": True, "message": f"{self.credential_kind}, project {self.project}"}]
        probes = (("list-resources", RESOURCE), ("list-iam-policies", IAM_POLICY))
        for check, content_type in probes:
            asset_types = sorted({spec.asset_type for _, spec in _gcp_types() if spec.content_type == content_type})
            try:
                pages = self._asset_pages(None, asset_types, content_type, GLOBAL_REGION, page_size=1)
                next(pages, None)
                pages.close()
            except CollectionError as exc:
                if isinstance(exc.__cause__, requests.ConnectionError):  # refused, DNS, connect timeout
                    # No connection: the credentials were never presented, so they are not "ok" either.
                    message = unreachable(exc.code, self.endpoint_url or ASSET_ENDPOINT)
                    return [{"check": "credentials", "ok": False, "message": message}] + [
                        {"check": name, "ok": False, "message": NOT_CHECKED_UNREACHABLE} for name, _ in probes
                    ]
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
        document = with_tags("gcp", spec.normalise({**self._document(asset, spec.content_type), **related}))
        return CollectedResource(
            uid=spec.uid(asset.name),
            id=short_id(asset.name),
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


def _scope(name: str) -> str:
    """The projects/NUMBER (or folders/, organizations/) part of a full resource name or parent."""
    return name.split("//", 1)[-1].split("/", 1)[-1] if name.startswith("//") else name


def related_scope(asset: dict) -> str:
    """Where an asset looks for its related documents: a Project in itself (its own parent is its
    organization or folder), every other asset in its parent, the project it belongs to."""
    if asset.get("assetType") == PROJECT_ASSET_TYPE:
        return _scope(asset.get("name", ""))
    return _scope((asset.get("resource") or {}).get("parent") or "")


def from_export(assets: list[dict]) -> list[CollectedResource]:
    """The lines of a `gcloud asset export` or `gcloud asset list` (RESOURCE and/or IAM_POLICY
    content, in JSON or protobuf field names) shaped exactly as the live collector shapes them,
    related documents and own IAM policies included, so uploaded and listed assets meet the same
    policies. Asset types we have no declaration for are left out."""
    assets = [json_names(asset) for asset in assets]
    by_type: dict[tuple[str, str], list[dict]] = {}
    policies: dict[str, dict] = {}
    for asset in assets:
        if "resource" in asset:
            parent = _scope(asset["resource"].get("parent") or "")
            data = jsonable(integral(asset["resource"].get("data") or {}))
            by_type.setdefault((parent, asset.get("assetType", "")), []).append(data)
        if "iamPolicy" in asset:
            policies[asset["name"]] = jsonable(integral(asset["iamPolicy"]))
    # Several types may be declared over one asset type and content (a project, and its log alerts).
    specs: dict[tuple[str, str], list[type[GcpResource]]] = {}
    for _, declared in _gcp_types():
        specs.setdefault((declared.asset_type, declared.content_type), []).append(declared)
    # Display names use project ids; exports name projects by number, their Project assets map one to the other.
    project_ids = {
        str(asset["resource"].get("data", {}).get("projectNumber") or short_id(asset["name"])): asset["resource"]
        .get("data", {})
        .get("projectId")
        for asset in assets
        if asset.get("assetType") == PROJECT_ASSET_TYPE and isinstance(asset.get("resource"), dict)
    }
    resources = []
    for asset in assets:
        # A line carries the content its export asked for; a listing of both carries both.
        kinds = [kind for kind, key in ((RESOURCE, "resource"), (IAM_POLICY, "iamPolicy")) if key in asset]
        for kind in kinds or [RESOURCE]:
            for spec in specs.get((asset.get("assetType"), kind), ()):
                resources.append(_export_resource(spec, asset, by_type, policies, project_ids))
    return resources


def _export_resource(
    spec: type[GcpResource],
    asset: dict,
    by_type: dict[tuple[str, str], list[dict]],
    policies: dict[str, dict],
    project_ids: dict[str, str],
) -> CollectedResource:
    resource = asset.get("resource") or {}
    scope = related_scope(asset)
    source = asset["iamPolicy"] if spec.content_type == IAM_POLICY else resource.get("data") or {}
    related: dict = {key: by_type.get((scope, asset_type), []) for key, asset_type in spec.related.items()}
    if spec.own_iam_policy:
        related["iamPolicy"] = policies.get(asset["name"], {})
    name = asset["name"]
    number = (scope or _scope(name)).rsplit("/", 1)[-1]
    document = with_tags("gcp", spec.normalise({**jsonable(integral(source)), **related}))
    return CollectedResource(
        uid=spec.uid(name),
        id=short_id(name),
        name=spec.display_name(document, name, project_ids.get(number, number)),
        resource_type=spec.registry_name,
        # An IAM policy listing carries no location (a line of both contents does): global, as listed.
        region=(resource.get("location") if spec.content_type == RESOURCE else None) or GLOBAL_REGION,
        document=document,
        volatile=spec.volatile,
    )
