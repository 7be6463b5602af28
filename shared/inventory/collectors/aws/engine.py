"""The AWS engine (boto3): lists the declared resource types of one account with paging, regions,
concurrent detail calls and retries; errors are typed and recorded, never read as "no resources"."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.loaders import Loader, create_loader
from botocore.parsers import ResponseParserError

from shared.inventory.collectors.aws.declare import (
    HOME_REGION,
    PROBES,
    THROTTLING_CODES,
    AwsResource,
    Detail,
    Ref,
    at_path,
)
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

# Network failures in the middle of a call are worth another attempt; a refused connection or an
# unknown host (EndpointConnectionError) is a configuration problem and fails at once.
TRANSIENT_ERRORS = (ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)
DENIED_CODES = (
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
)


@functools.cache
def _service_models() -> Loader:
    """One loader of botocore's service models per process: each collector gets its own session
    and credentials, but parsing the models again costs ~100 ms per client."""
    return create_loader()


def _boto_session(**credentials) -> boto3.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _service_models())
    return boto3.session.Session(botocore_session=core, **credentials)


class _Fields(dict):
    def __missing__(self, key):
        return ""


def _items_at(answer: dict, path: str) -> list[dict]:
    """The listed items at `path`; a list met on the way is flattened (`Reservations.Instances`)."""
    items: list[Any] = [answer]
    for part in path.split("."):
        found: list[Any] = []
        for value in items:
            child = value.get(part) if isinstance(value, dict) else None
            if isinstance(child, list):
                found += child
            elif child is not None:
                found.append(child)
        items = found
    return items


def _resolve(value: Any, source: dict) -> Any:
    """Request parameters: constants as they are, `Ref`s replaced by the source's values."""
    if isinstance(value, Ref):
        resolved = at_path(source, value.path)
        if resolved is None:
            raise KeyError(f"the listed item has no '{value.path}' for a request parameter")
        return str(resolved).rsplit(value.tail_after, 1)[-1] if value.tail_after else resolved
    if isinstance(value, dict):
        return {k: _resolve(v, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, source) for v in value]
    return value


def _error(exc: Exception, resource_type: str | None, region: str | None) -> CollectionError:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = peer_code(exc.response.get("Error", {}).get("Code"), status)
        message = refusal(exc.operation_name or "The call", code, status)
        return CollectionError(code, message, resource_type=resource_type, region=region)
    if isinstance(exc, NoCredentialsError):
        return CollectionError("NoCredentials", "no AWS credentials found", resource_type=resource_type, region=region)
    if isinstance(exc, ResponseParserError):  # its text quotes the answer: never echoed to a tenant
        message = "the endpoint's answer is not an AWS API response"
        return CollectionError("InvalidResponse", message, resource_type=resource_type, region=region)
    return CollectionError(type(exc).__name__, str(exc), resource_type=resource_type, region=region)


# Services verify() calls in us-east-1 (their types are global).
GLOBAL_SERVICES = ("account", "iam", "s3", "s3control", "sts", "cloudfront", "route53", "route53domains")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@collectors.register("aws")
class AwsCollector:
    """Lists AWS resources for one account: access keys, an assumed role (with external id) or the
    default credential chain; an endpoint override for private endpoints and moto."""

    def __init__(
        self,
        account,
        credentials: dict,
        settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
    ):
        self.endpoint_url = account.endpoint_url
        self.configured_regions = list(account.regions or [])
        self.settings = settings
        self.sleep = sleep
        self.now = now
        self.stop_reason: Callable[[], str | None] = never_stop
        self.retry_base = 0.5
        self._config = Config(
            # botocore makes one attempt: this engine owns retries, so a throttled call is retried
            # aws_max_attempts times in all (not that many times botocore's own attempts), with
            # back-off it can observe and tests can replace.
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=max(10, settings.detail_concurrency * 2),
            connect_timeout=5,
            read_timeout=30,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._account_number: str | None = None
        self.session = self._session(credentials)

    def _session(self, credentials: dict) -> boto3.session.Session:
        session = _boto_session(
            aws_access_key_id=credentials.get("access_key_id"),
            aws_secret_access_key=credentials.get("secret_access_key"),
            aws_session_token=credentials.get("session_token"),
        )
        role_arn = credentials.get("role_arn")
        if not role_arn:
            return session
        params = {"RoleArn": role_arn, "RoleSessionName": "policycortex-scan"}
        if credentials.get("external_id"):
            params["ExternalId"] = credentials["external_id"]
        sts = session.client("sts", region_name=HOME_REGION, endpoint_url=self.endpoint_url, config=self._config)
        assumed = self._call(lambda: sts.assume_role(**params), None, GLOBAL_REGION)["Credentials"]
        return _boto_session(
            aws_access_key_id=assumed["AccessKeyId"],
            aws_secret_access_key=assumed["SecretAccessKey"],
            aws_session_token=assumed["SessionToken"],
        )

    def client(self, service: str, region: str):
        region = HOME_REGION if region == GLOBAL_REGION else region
        with self._lock:  # boto3 sessions are not thread-safe; the clients they make are
            key = (service, region)
            if key not in self._clients:
                client = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self._config
                )
                if self.endpoint_url and service == "s3control":
                    # S3 Control names the account in the host (ACCOUNT.s3-control...); an endpoint
                    # override (a local moto) is the host itself.
                    client.meta.events.register("before-sign.s3-control", _endpoint_host(self.endpoint_url))
                self._clients[key] = client
            return self._clients[key]

    @property
    def account_number(self) -> str:
        if self._account_number is None:
            identity = self._call(lambda: self.client("sts", GLOBAL_REGION).get_caller_identity(), None, GLOBAL_REGION)
            self._account_number = identity["Account"]
        return self._account_number

    def regions(self) -> list[str]:
        """The account's configured regions, or every region enabled for it."""
        if self.configured_regions:
            return self.configured_regions
        answer = self._call(lambda: self.client("ec2", HOME_REGION).describe_regions(), None, GLOBAL_REGION)
        return sorted(r["RegionName"] for r in answer["Regions"])

    def verify(self) -> list[dict]:
        """Checks that the credentials work and that one cheap read per service is allowed; each
        says what failed (the permission for a denied call), so a caller can fix the role."""
        checks = []
        try:
            identity = self._call(lambda: self.client("sts", GLOBAL_REGION).get_caller_identity(), None, GLOBAL_REGION)
            checks.append({"check": "credentials", "ok": True, "message": f"Authenticated as {identity.get('Arn')}"})
        except CollectionError as exc:
            cause = exc.__cause__
            if isinstance(cause, (EndpointConnectionError, ConnectTimeoutError)):
                # No connection: nothing is known about the credentials, so do not blame them.
                message = unreachable(exc.code, self.endpoint_url or cause.kwargs.get("endpoint_url") or "")
                skipped = NOT_CHECKED_UNREACHABLE
            else:
                message, skipped = f"{exc.code}: {exc.message}", "Not checked: the credentials do not work"
            checks.append({"check": "credentials", "ok": False, "message": message})
            return checks + [{"check": p.permission, "ok": False, "message": skipped} for p in PROBES]
        region = self.configured_regions[0] if self.configured_regions else HOME_REGION
        for probe in PROBES:
            action, operation, params = probe.permission, probe.operation, probe.params
            client = self.client(probe.service, GLOBAL_REGION if probe.service in GLOBAL_SERVICES else region)
            try:
                self._call(lambda c=client, o=operation, p=params: getattr(c, o)(**p), None, region)
            except CollectionError as exc:
                if exc.code in probe.not_set_up_codes:
                    message = f"{action} allowed (the service is not set up in {region}: {exc.code})"
                    checks.append({"check": action, "ok": True, "message": message})
                    continue
                if exc.code in DENIED_CODES:
                    message = f"Missing permission {action} ({exc.code})"
                else:
                    message = f"{action} failed: {exc.message}"
                checks.append({"check": action, "ok": False, "message": message})
            else:
                checks.append({"check": action, "ok": True, "message": f"{action} allowed"})
        return checks

    def _call(self, call: Callable[[], Any], spec: type[AwsResource] | None, region: str | None):
        """One API call, retried with exponential back-off on the type's retryable codes and on
        transient network errors; aws_max_attempts attempts in all."""
        retryable = spec.retryable_codes if spec else THROTTLING_CODES
        name = getattr(spec, "registry_name", None)
        attempt = 1
        while True:
            if reason := self.stop_reason():
                raise Stopped(reason)
            try:
                return call()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in retryable or attempt >= self.settings.aws_max_attempts:
                    raise _error(exc, name, region) from exc
            except TRANSIENT_ERRORS as exc:
                if attempt >= self.settings.aws_max_attempts:
                    raise _error(exc, name, region) from exc
            except (BotoCoreError, NoCredentialsError, ResponseParserError) as exc:
                raise _error(exc, name, region) from exc
            self.sleep(min(20.0, self.retry_base * 2 ** (attempt - 1)))
            attempt += 1

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]:
        spec: type[AwsResource] = resource_types.get(resource_type)
        if spec.global_service != (region == GLOBAL_REGION):
            # The planner puts global types in the "global" shard only; anything else is a bug that
            # would list a global service once per region.
            kind = "global" if spec.global_service else "regional"
            raise ValueError(f"{resource_type} is a {kind} type, not listed for region '{region}'")
        if not spec.global_service and not _offered(spec.service, region):
            return  # the service does not exist in this region (e.g. DAX): there is nothing to list
        account = self.account_number
        client = self.client(spec.service, region)
        for items in self._listing(spec, region, account):
            resources = self._documents(spec, client, items, region, account)
            if resources:
                yield resources

    def _listing(self, spec: type[AwsResource], region: str, account: str) -> Iterator[list[dict]]:
        """Raw items page by page: a singleton's one answer, a child type's items per parent item,
        or the type's own paged listing."""
        if spec.prepare_operation:
            client = self.client(spec.service, region)
            self._call(lambda: getattr(client, spec.prepare_operation)(), spec, region)
        if spec.singleton:
            yield [self._singleton(spec, region, account)]
        elif spec.parent:
            parent: type[AwsResource] = resource_types.get(spec.parent)
            for parents in self._paged(parent, region, account, {}, report_as=spec):
                for item in parents:
                    for children in self._paged(spec, region, account, _resolve(spec.parent_params, item)):
                        yield [{**child, **{f: item.get(f) for f in spec.parent_fields}} for child in children]
        else:
            yield from self._paged(spec, region, account, {})

    def _singleton(self, spec: type[AwsResource], region: str, account: str) -> dict:
        """The one answer of a singleton type; when it pages, the lists of every page in one answer."""
        client = self.client(spec.service, region)
        params = _resolve(spec.list_params, {"account": account, "region": region})
        answer: dict = {}
        while True:
            try:
                page = self._call(lambda: getattr(client, spec.list_operation)(**params), spec, region)
            except CollectionError as exc:
                if exc.code in spec.missing_codes:
                    return {}
                raise
            page.pop("ResponseMetadata", None)
            token = page.pop(spec.paging[1], None) if spec.paging else None
            for key, value in page.items():
                if isinstance(value, list) and isinstance(answer.get(key), list):
                    answer[key] += value
                else:
                    answer[key] = value
            if not token:
                return answer
            params[spec.paging[0]] = token

    def _paged(
        self,
        spec: type[AwsResource],
        region: str,
        account: str,
        extra: dict[str, Any],
        report_as: type[AwsResource] | None = None,
    ) -> Iterator[list[dict]]:
        """The type's listing, one list of raw items per answer; errors name `report_as` (the child
        type whose listing needed this one)."""
        client = self.client(spec.service, region)
        params = {**_resolve(spec.list_params, {"account": account, "region": region}), **extra}
        if spec.page_size_param and spec.paging:
            low, high = spec.page_size_limits
            params[spec.page_size_param] = max(low, min(high, self.settings.page_size))
        while True:
            try:
                page = self._call(lambda: getattr(client, spec.list_operation)(**params), report_as or spec, region)
            except CollectionError as exc:
                if exc.code in spec.missing_codes:
                    return
                raise
            items = _items_at(page, spec.list_key)
            if spec.list_wrap:
                items = [item if isinstance(item, dict) else {spec.list_wrap: item} for item in items]
            if items:
                yield items
            token = at_path(page, spec.paging[1]) if spec.paging else None  # may be nested (CloudFront)
            if not token:
                return
            params[spec.paging[0]] = token

    def _documents(self, spec, client, items: list[dict], region: str, account: str) -> list[CollectedResource]:
        items = [dict(item) for item in items]
        for stage in _stages(spec.details):
            calls = [(item, detail) for item in items for detail in stage if not detail.when or detail.when(item)]
            where = {"account": account, "region": region}  # item fields win over these
            tasks = [
                (d, target, {**where, **context})
                for item, detail in calls
                for d, target, context in _targets(item, detail)
            ]
            workers = min(self.settings.detail_concurrency, len(tasks))
            if workers > 1:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(lambda task: self._detail(spec, client, region, *task), tasks))
            else:
                for task in tasks:
                    self._detail(spec, client, region, *task)
        now = self.now()
        resources = []
        for item in items:
            item = spec.normalise(jsonable(item), now)
            if not spec.singleton:  # a pseudo-resource (an account's or region's settings) has no tags
                with_tags("aws", item)
            if spec.skip_when and spec.skip_when(item):
                continue
            resource_region = spec.region_of(item, region)
            fields = _Fields(item, region=resource_region, account=account)
            resource_id = spec.id_template.format_map(fields)
            name = spec.name_template.format_map(fields) if spec.name_template else _name_tag(item)
            resources.append(
                CollectedResource(
                    uid=spec.arn.format_map(fields),
                    id=resource_id,
                    name=name or resource_id,
                    resource_type=spec.registry_name,
                    region=resource_region,
                    document=item,
                    volatile=spec.volatile,
                )
            )
        return resources

    def _detail(self, spec, client, region: str, detail: Detail, target: dict, context: dict) -> None:
        """One detail call for one item (or one element of it): its answer is stored in `target`."""
        params = _resolve(detail.params, context)
        if detail.service:
            client = self.client(detail.service, region)
        try:
            answer = self._call(lambda: getattr(client, detail.operation)(**params), spec, region)
        except CollectionError as exc:
            if exc.code in detail.missing_codes:
                return
            raise
        answer.pop("ResponseMetadata", None)
        value = at_path(answer, detail.result_key) if detail.result_key else answer
        if detail.wrap and isinstance(value, list):
            value = [element if isinstance(element, dict) else {detail.wrap: element} for element in value]
        target[detail.into] = value


def _stages(details: tuple[Detail, ...]) -> list[list[Detail]]:
    """Details in stages that run one after the other: `each` and `after` start a new stage."""
    stages: list[list[Detail]] = []
    for detail in details:
        if not stages or detail.each or detail.after:
            stages.append([])
        stages[-1].append(detail)
    return stages


def _targets(item: dict, detail: Detail) -> list[tuple[Detail, dict, dict]]:
    """(detail, where its answer goes, what its Refs resolve against) for one item: the item, or
    each element of its `each` list (copied, so the listed item is never changed under a reader),
    whose Refs see the element's fields over the item's."""
    if not detail.each:
        return [(detail, item, item)]
    item[detail.each] = elements = [dict(e) for e in item.get(detail.each) or [] if isinstance(e, dict)]
    return [(detail, element, {**item, **element}) for element in elements]


def _endpoint_host(endpoint_url: str) -> Callable[..., None]:
    host = urlsplit(endpoint_url).netloc

    def rewrite(request, **kwargs) -> None:
        request.url = urlunsplit(urlsplit(request.url)._replace(netloc=host))

    return rewrite


@functools.cache
def _endpoint_data() -> boto3.session.Session:
    return boto3.session.Session()  # reads botocore's endpoint data once


@functools.cache
def _regions_of(service: str) -> frozenset[str]:
    """The regions botocore's endpoint data lists for the service, in every partition."""
    session = _endpoint_data()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions(service, partition_name=partition)
    )


def _offered(service: str, region: str) -> bool:
    """Whether the service exists in the region; a service the endpoint data knows no regions for
    (new, or served from one global endpoint) is taken as offered."""
    regions = _regions_of(service)
    return not regions or region in regions


def _name_tag(item: dict) -> str | None:
    for tag in item.get("Tags") or []:
        if isinstance(tag, dict) and tag.get("Key") == "Name" and tag.get("Value"):
            return str(tag["Value"])
    return None
