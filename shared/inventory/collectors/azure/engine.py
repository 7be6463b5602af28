"""The Azure collector: one paged Resource Graph query per subscription and resource type, the
declared ARM detail GETs, and the shaping of uploaded Resource Graph exports (from_rows)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from shared.inventory.collectors.azure.declare import THROTTLING_STATUSES, AzureResource, Detail
from shared.inventory.collectors.azure.resources import Subscription
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
from shared.inventory.tags import with_tags

ARM_ENDPOINT = "https://management.azure.com"  # ResourceGraphClient's own default
ARM_SCOPE = f"{ARM_ENDPOINT}/.default"
MAX_PAGE_SIZE = 1000  # Resource Graph refuses a larger $top
MAX_RETRY_AFTER = 60.0  # a server asking for longer is not waited for beyond this per attempt
TOKEN_LIFETIME = 3600


class StaticTokenCredential:
    """A pre-issued ARM bearer token (from the caller's own token broker, or a test's fake)."""

    def __init__(self, token: str):
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        # The real expiry is unknown: a token that has expired is answered 401 and reported as such.
        return AccessToken(self._token, int(time.time()) + TOKEN_LIFETIME)


class _EndpointAuthenticationPolicy(ARMChallengeAuthenticationPolicy):
    """Bearer tokens for an overridden endpoint: azure-core refuses to send a token over plain http,
    which only a local fake or a private proxy speaks."""

    def on_request(self, request) -> None:
        if request.http_request.url.lower().startswith("http://"):
            request.context["enforce_https"] = False
        super().on_request(request)


def credential_from(credentials: dict) -> TokenCredential:
    """A service principal or a pre-issued token; never the ambient DefaultAzureCredential chain,
    which would scan with whatever identity the worker happens to run as."""
    if credentials.get("access_token"):
        return StaticTokenCredential(credentials["access_token"])
    principal = [credentials.get(name) for name in ("tenant_id", "client_id", "client_secret")]
    if all(principal):
        return ClientSecretCredential(*principal)
    raise CollectionError(
        "InvalidCredentials",
        "Azure needs a service principal (tenant_id, client_id, client_secret) or an access_token",
        region=GLOBAL_REGION,
    )


def _retry_after(exc: HttpResponseError) -> float | None:
    value = exc.response.headers.get("Retry-After") if exc.response is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:  # the HTTP-date form
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


def _error(exc: AzureError, resource_type: str | None, region: str | None, scope: str = "") -> CollectionError:
    where = {"resource_type": resource_type, "region": region}
    what = f"Resource Graph query of {scope}" if scope else "Resource Graph query"
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        arm_error = getattr(exc, "error", None)
        if isinstance(exc, ClientAuthenticationError) or status == 401:
            return CollectionError("AuthenticationFailed", refusal(what, "AuthenticationFailed", status), **where)
        if status == 403:
            return CollectionError("AuthorizationFailed", refusal(what, "AuthorizationFailed", status), **where)
        code = peer_code(arm_error.code if arm_error else None, status)
        if status in THROTTLING_STATUSES:
            message = "still throttled after retries: " + refusal(what, code, status)
            return CollectionError("Throttled", message, **where)
        return CollectionError(code, refusal(what, code, status), **where)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        # The request never got an answer: refused connection, DNS, timeout, TLS (no peer text in it).
        return CollectionError("ConnectionError", str(exc.message or exc)[:300], **where)
    return CollectionError(type(exc).__name__, str(exc.message or exc)[:300], **where)


@collectors.register("azure")
class AzureCollector:
    """Lists Azure resources of one subscription through Resource Graph, with a service principal or
    a pre-issued token; an endpoint override for private endpoints and the tests' fake."""

    def __init__(self, account, credentials: dict, settings, *, sleep: Callable[[float], None] = time.sleep):
        self.subscription_id = credentials.get("subscription_id")
        if not self.subscription_id:
            raise CollectionError("InvalidCredentials", "subscription_id is required", region=GLOBAL_REGION)
        self.settings = settings
        self.sleep = sleep
        self.stop_reason: Callable[[], str | None] = never_stop
        self.retry_base = 0.5
        self.max_attempts = max(1, settings.aws_max_attempts)
        self.credential = credential_from(credentials)
        self.endpoint = account.endpoint_url or ARM_ENDPOINT
        # The SDK's own retries are off: back-off is ours, visible and bounded by the settings.
        options: dict[str, Any] = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 60}
        if account.endpoint_url:
            options["base_url"] = account.endpoint_url
            options["authentication_policy"] = _EndpointAuthenticationPolicy(self.credential, ARM_SCOPE)
        self.client = ResourceGraphClient(self.credential, **options)

    def regions(self) -> list[str]:
        return [GLOBAL_REGION]

    def _call(self, call: Callable[[], Any], spec: type[AzureResource] | None, region: str | None) -> Any:
        """One request, retried with exponential back-off (or the server's Retry-After) on throttling."""
        retryable = spec.retryable_codes if spec else THROTTLING_STATUSES
        name = getattr(spec, "registry_name", None)
        attempt = 1
        while True:
            try:
                return call()
            except HttpResponseError as exc:
                if exc.status_code not in retryable or attempt >= self.max_attempts:
                    raise _error(exc, name, region, f"subscription {self.subscription_id}") from exc
                delay = _retry_after(exc)
                if delay is None:
                    delay = self.retry_base * 2 ** (attempt - 1)
            except AzureError as exc:
                raise _error(exc, name, region, f"subscription {self.subscription_id}") from exc
            if reason := self.stop_reason():  # a back-off is no reason to keep a cancelled scan's worker
                raise Stopped(reason)
            self.sleep(min(MAX_RETRY_AFTER, delay))
            attempt += 1

    def _query(self, query: str, skip_token: str | None, top: int, spec, region: str):
        request = QueryRequest(
            subscriptions=[self.subscription_id],
            query=query,
            options=QueryRequestOptions(top=top, skip_token=skip_token, result_format="objectArray"),
        )
        return self._call(lambda: self.client.resources(request), spec, region)

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]:
        spec: type[AzureResource] = resource_types.get(resource_type)
        top = max(1, min(MAX_PAGE_SIZE, self.settings.page_size))
        skip_token = None
        while True:
            answer = self._query(spec.query(), skip_token, top, spec, region)
            rows = list(answer.data or [])  # objectArray rows are parsed JSON already: JSON types only
            if rows:
                yield self._documents(spec, rows, region)
            skip_token = answer.skip_token
            if not skip_token:
                if (answer.result_truncated or "").lower() == "true":
                    # Fewer rows than exist and no way to page on: never report that as the inventory.
                    raise CollectionError(
                        "ResultTruncated",
                        "Resource Graph truncated the result without a $skipToken",
                        resource_type=resource_type,
                        region=region,
                    )
                return

    def _documents(self, spec: type[AzureResource], rows: list[dict], region: str) -> list[CollectedResource]:
        if spec.details:
            workers = min(self.settings.detail_concurrency, len(rows))
            if workers > 1:
                with ThreadPoolExecutor(workers) as pool:
                    rows = list(pool.map(lambda row: self._detail(spec, row, region), rows))
            else:
                rows = [self._detail(spec, row, region) for row in rows]
        return [shape(spec, row) for row in rows]

    def _detail(self, spec: type[AzureResource], row: dict, region: str) -> dict:
        row = dict(row)
        for detail in spec.details:
            answer = self._arm_get(f"{row['id']}/{detail.path}", detail.api_version, spec, region)
            if answer is None:
                continue  # 404: not configured, the policy decides what a missing setting means
            answers = [answer]
            while detail.many and answers[-1].get("nextLink"):
                answers.append(self._arm_get(answers[-1]["nextLink"], None, spec, region) or {})
            attach(row, detail, answers)
        return row

    def _arm_get(self, path: str, api_version: str | None, spec, region: str) -> dict | None:
        """A GET through the client's own pipeline (same credential, endpoint and error handling);
        `nextLink` URLs already carry their api-version."""
        request = HttpRequest("GET", path, params={"api-version": api_version} if api_version else None)

        def call() -> dict | None:
            # The SDK's documented way to send a raw request through the client's pipeline.
            response = self.client._send_request(request)
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            return response.json()

        return self._call(call, spec, region)

    def verify(self) -> list[dict]:
        """Whether the credentials are accepted and Resource Graph shows the subscription."""
        try:
            self.credential.get_token(ARM_SCOPE)
        except AzureError as exc:
            return [{"check": "credentials", "ok": False, "message": f"no token issued: {_error(exc, None, None)}"}]
        try:
            answer = self._query(Subscription.query(), None, 1, None, GLOBAL_REGION)
        except CollectionError as exc:
            if exc.code == "AuthenticationFailed":
                return [{"check": "credentials", "ok": False, "message": f"token rejected: {exc.message}"}]
            if isinstance(exc.__cause__, ServiceRequestError):
                # The request was never answered: the token was issued here, not accepted there.
                return [
                    {"check": "credentials", "ok": False, "message": unreachable(exc.code, self.endpoint)},
                    {"check": "resource graph", "ok": False, "message": NOT_CHECKED_UNREACHABLE},
                ]
            return [
                {"check": "credentials", "ok": True, "message": "token accepted"},
                {"check": "resource graph", "ok": False, "message": f"{exc.code}: {exc.message}"},
            ]
        visible = any(row.get("subscriptionId") == self.subscription_id for row in answer.data or [])
        return [
            {"check": "credentials", "ok": True, "message": "token accepted"},
            {
                "check": "resource graph",
                "ok": visible,
                "message": f"subscription {self.subscription_id} is "
                + ("readable" if visible else "not visible to these credentials"),
            },
        ]


def attach(row: dict, detail: Detail, answers: list[dict]) -> dict:
    """A detail GET's answer (its pages, for a list) stored in the row where policies read it."""
    if detail.many:
        row[detail.into] = jsonable([item for answer in answers for item in answer.get("value") or []])
    else:
        answer = answers[0]
        row[detail.into] = jsonable(answer.get(detail.result_key) if detail.result_key else answer)
    return row


def shape(spec: type[AzureResource], row: dict) -> CollectedResource:
    """One Resource Graph row (with its details' answers) as the resource document policies read."""
    row = with_tags("azure", spec.normalise(jsonable(row)))
    return CollectedResource(
        uid=row["id"],
        id=row["id"],
        name=row.get("name") or row["id"].rsplit("/", 1)[-1],
        resource_type=spec.registry_name,
        region=row.get("location") or GLOBAL_REGION,
        document=row,
        volatile=spec.volatile,
    )


def from_rows(rows: list[dict]) -> list[CollectedResource]:
    """Rows of an uploaded Resource Graph export as the live collector shapes them; rows of types
    we have no declaration for are left out. Exports carry no detail calls' answers, so policies
    reading those fields see them missing (and say what missing means)."""
    specs = {spec.native_type: spec for _, spec in resource_types.items() if getattr(spec, "provider", "") == "azure"}
    return [shape(specs[kind], row) for row in rows if (kind := str(row.get("type", "")).lower()) in specs]
