"""AWS collector (boto3): resource types declared as data, one engine for paging, regions, retries."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.loaders import Loader, create_loader

from shared.collectors import (
    GLOBAL_REGION,
    CollectedResource,
    CollectionError,
    collectors,
    jsonable,
    resource_types,
)

HOME_REGION = "us-east-1"  # where global services (IAM, S3 listing, STS) are called
THROTTLING_CODES = (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
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


@dataclass(frozen=True)
class Detail:
    """A call that adds detail to one listed item."""

    operation: str
    params: dict[str, str]  # API parameter -> field of the listed item
    into: str  # where the answer goes in the resource document
    result_key: str | None = None  # the key of the answer to keep (None: the whole answer)
    missing_codes: tuple[str, ...] = ()  # error codes that mean "not configured": store nothing


class AwsResource:
    """Declaration of one AWS resource type; subclasses only set attributes."""

    provider: ClassVar[str] = "aws"
    service: ClassVar[str]
    global_service: ClassVar[bool] = False
    list_operation: ClassVar[str]
    list_key: ClassVar[str]
    list_params: ClassVar[dict[str, Any]] = {}
    # (request parameter, response key) of the paging token; None when one call lists everything.
    paging: ClassVar[tuple[str, str] | None] = ("NextToken", "NextToken")
    page_size_param: ClassVar[str | None] = "MaxResults"
    id_field: ClassVar[str]
    name_field: ClassVar[str | None] = None
    arn: ClassVar[str]  # template over the item's fields plus {region} and {account}
    details: ClassVar[tuple[Detail, ...]] = ()
    volatile: ClassVar[tuple[str, ...]] = ()
    retryable_codes: ClassVar[tuple[str, ...]] = THROTTLING_CODES

    @classmethod
    def normalise(cls, item: dict) -> dict:
        """Derived fields that make policies simple (e.g. a port-range string)."""
        return item

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return region

    @classmethod
    def uid_prefix(cls) -> str:
        return cls.arn.split("{", 1)[0]


@resource_types.register("aws.s3.bucket")
class S3Bucket(AwsResource):
    service = "s3"
    global_service = True
    list_operation = "list_buckets"
    list_key = "Buckets"
    paging = None
    page_size_param = None
    id_field = "Name"
    arn = "arn:aws:s3:::{Name}"
    details = (
        Detail("get_bucket_location", {"Bucket": "Name"}, "LocationConstraint", "LocationConstraint"),
        Detail(
            "get_bucket_encryption",
            {"Bucket": "Name"},
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionConfiguration",
            missing_codes=("ServerSideEncryptionConfigurationNotFoundError",),
        ),
        Detail(
            "get_public_access_block",
            {"Bucket": "Name"},
            "PublicAccessBlockConfiguration",
            "PublicAccessBlockConfiguration",
            missing_codes=("NoSuchPublicAccessBlockConfiguration",),
        ),
        Detail("get_bucket_versioning", {"Bucket": "Name"}, "Versioning"),
    )

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return item.get("LocationConstraint") or HOME_REGION


def _port_spec(permission: dict) -> str | None:
    protocol = str(permission.get("IpProtocol", ""))
    if protocol in ("-1", "all"):
        return "*"
    if protocol in ("tcp", "udp", "6", "17"):
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if low is None or high is None or (low, high) == (-1, -1):
            return "*"
        return f"{low}-{high}"
    return None  # ICMP and other protocols have no ports


@resource_types.register("aws.ec2.security-group")
class SecurityGroup(AwsResource):
    service = "ec2"
    list_operation = "describe_security_groups"
    list_key = "SecurityGroups"
    id_field = "GroupId"
    name_field = "GroupName"
    arn = "arn:aws:ec2:{region}:{account}:security-group/{GroupId}"

    @classmethod
    def normalise(cls, item: dict) -> dict:
        for key in ("IpPermissions", "IpPermissionsEgress"):
            for permission in item.get(key, []):
                permission["Ports"] = _port_spec(permission)
        return item


class _Fields(dict):
    def __missing__(self, key):
        return ""


def _error(exc: Exception, resource_type: str | None, region: str | None) -> CollectionError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return CollectionError(
            error.get("Code", "ClientError"),
            error.get("Message", str(exc)),
            resource_type=resource_type,
            region=region,
        )
    if isinstance(exc, NoCredentialsError):
        return CollectionError("NoCredentials", "no AWS credentials found", resource_type=resource_type, region=region)
    return CollectionError(type(exc).__name__, str(exc), resource_type=resource_type, region=region)


@collectors.register("aws")
class AwsCollector:
    """Lists AWS resources for one account: access keys, an assumed role (with external id) or the
    default credential chain; an endpoint override for private endpoints and moto."""

    def __init__(self, account, credentials: dict, settings, *, sleep: Callable[[float], None] = time.sleep):
        self.endpoint_url = account.endpoint_url
        self.configured_regions = list(account.regions or [])
        self.settings = settings
        self.sleep = sleep
        self.retry_base = 0.5
        self._config = Config(
            retries={"mode": "standard", "max_attempts": settings.aws_max_attempts},
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
        try:
            assumed = sts.assume_role(**params)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, None, GLOBAL_REGION) from exc
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
                self._clients[key] = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self._config
                )
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

    def _call(self, call: Callable[[], Any], spec: type[AwsResource] | None, region: str | None):
        """One API call, retried with exponential back-off on the type's retryable codes
        (botocore's standard retries run first; this outer loop covers longer throttling)."""
        retryable = spec.retryable_codes if spec else THROTTLING_CODES
        name = getattr(spec, "registry_name", None)
        attempt = 0
        while True:
            try:
                return call()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in retryable or attempt >= self.settings.aws_max_attempts:
                    raise _error(exc, name, region) from exc
            except (BotoCoreError, NoCredentialsError) as exc:
                raise _error(exc, name, region) from exc
            self.sleep(min(20.0, self.retry_base * 2**attempt))
            attempt += 1

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]:
        spec: type[AwsResource] = resource_types.get(resource_type)
        client = self.client(spec.service, region)
        account = self.account_number
        params = dict(spec.list_params)
        if spec.page_size_param and spec.paging:
            params[spec.page_size_param] = min(1000, self.settings.page_size)
        while True:
            page = self._call(lambda: getattr(client, spec.list_operation)(**params), spec, region)
            items = page.get(spec.list_key, [])
            if items:
                yield self._documents(spec, client, items, region, account)
            token = page.get(spec.paging[1]) if spec.paging else None
            if not token:
                return
            params[spec.paging[0]] = token

    def _documents(self, spec, client, items: list[dict], region: str, account: str) -> list[CollectedResource]:
        if spec.details:
            workers = min(self.settings.detail_concurrency, len(items))
            if workers > 1:
                with ThreadPoolExecutor(workers) as pool:
                    items = list(pool.map(lambda item: self._detail(spec, client, item, region), items))
            else:
                items = [self._detail(spec, client, item, region) for item in items]
        resources = []
        for item in items:
            item = spec.normalise(jsonable(item))
            resource_region = spec.region_of(item, region)
            uid = spec.arn.format_map(_Fields(item, region=resource_region, account=account))
            resource_id = str(item[spec.id_field])
            resources.append(
                CollectedResource(
                    uid=uid,
                    id=resource_id,
                    name=str(item.get(spec.name_field or spec.id_field) or resource_id),
                    resource_type=spec.registry_name,
                    region=resource_region,
                    document=item,
                    volatile=spec.volatile,
                )
            )
        return resources

    def _detail(self, spec, client, item: dict, region: str) -> dict:
        item = dict(item)
        for detail in spec.details:
            params = {param: item[field] for param, field in detail.params.items()}
            try:
                answer = self._call(lambda d=detail, p=params: getattr(client, d.operation)(**p), spec, region)
            except CollectionError as exc:
                if exc.code in detail.missing_codes:
                    continue
                raise
            answer.pop("ResponseMetadata", None)
            item[detail.into] = answer.get(detail.result_key) if detail.result_key else answer
        return item
