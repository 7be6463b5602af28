"""AWS collector (boto3): resource types declared as data, one engine for paging, regions, retries."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.loaders import Loader, create_loader

from shared.collectors import (
    GLOBAL_REGION,
    CollectedResource,
    CollectionError,
    collectors,
    jsonable,
    resource_types,
)
from shared.policies.conditions import Check, compile_condition

HOME_REGION = "us-east-1"  # where global services (IAM, S3 listing, STS) are called
# Error codes that mean "slow down" or "try again": botocore's throttling list plus transient failures.
THROTTLING_CODES = (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "EC2ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestTimeoutException",
    "500",
    "502",
    "503",
    "504",
)
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


# -- the declaration language ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A request parameter whose value comes from the listed item (or list element): a key path."""

    path: str


@dataclass(frozen=True)
class Detail:
    """A call that adds detail to one listed item.

    `params` are constants, with `Ref("Field")` wherever a value comes from the item (nested in
    lists and dicts too, e.g. EC2 filters). With `each`, the call is made once per element of that
    list in the item, its params resolved against the element and its answer stored in the element.
    """

    operation: str
    params: dict[str, Any]
    into: str  # where the answer goes in the resource document (or list element)
    result_key: str | None = None  # key path of the answer to keep (None: the whole answer)
    missing_codes: tuple[str, ...] = ()  # error codes that mean "not configured": store nothing
    each: str | None = None
    when: dict | None = None  # a condition (the policy language) the item must meet to make the call
    check: Check | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.when is not None:
            object.__setattr__(self, "check", compile_condition(self.when, f"{self.operation}.when"))


class AwsResource:
    """Declaration of one AWS resource type; subclasses only set attributes.

    The engine lists it with `list_operation` (paged, or `singleton`: one call whose answer is the
    one pseudo-resource of the region or account), or once per item of its `parent` type. Items
    are found at `list_key` (a key path; lists met on the way are flattened), completed by
    `details`, made JSON, `normalise`d, and dropped when `skip_when` holds.
    """

    provider: ClassVar[str] = "aws"
    service: ClassVar[str]
    global_service: ClassVar[bool] = False
    list_operation: ClassVar[str]
    list_key: ClassVar[str] = ""
    list_params: ClassVar[dict[str, Any]] = {}  # constants, and Ref("account") / Ref("region")
    # (request parameter, response key) of the paging token; None when one call lists everything.
    paging: ClassVar[tuple[str, str] | None] = ("NextToken", "NextToken")
    page_size_param: ClassVar[str | None] = "MaxResults"
    page_size_limits: ClassVar[tuple[int, int]] = (5, 1000)  # what the API accepts
    singleton: ClassVar[bool] = False
    missing_codes: ClassVar[tuple[str, ...]] = ()  # listing errors that mean "none configured"
    parent: ClassVar[str | None] = None  # registry name of the type this one is listed under
    parent_params: ClassVar[dict[str, Any]] = {}  # listing parameters from the parent item (Ref)
    parent_fields: ClassVar[tuple[str, ...]] = ()  # parent fields copied into each item
    skip_when: ClassVar[dict | None] = None  # a condition on the finished document
    # Templates over the item's fields plus {region} and {account}.
    id_template: ClassVar[str]
    name_template: ClassVar[str | None] = None  # None: the item's Name tag, else its id
    arn: ClassVar[str]
    arn_prefix: ClassVar[str | None] = None  # the literal start of `arn` when it starts with a field
    details: ClassVar[tuple[Detail, ...]] = ()
    volatile: ClassVar[tuple[str, ...]] = ()
    retryable_codes: ClassVar[tuple[str, ...]] = THROTTLING_CODES
    skip_check: ClassVar[Check | None] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("skip_when") is not None:
            cls.skip_check = compile_condition(cls.skip_when, f"{cls.__name__}.skip_when")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        """Derived fields that make policies simple (a port-range string, an age in days)."""
        return item

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return region

    @classmethod
    def uid_prefix(cls) -> str:
        return cls.arn_prefix or cls.arn.split("{", 1)[0]


# -- helpers the declarations use ------------------------------------------------------------------


def _days_since(timestamp: Any, now: datetime) -> int | None:
    """Whole days from an ISO timestamp (as `jsonable` writes them) to now; None when unknown."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, (now - moment).days)


def _principals(principal: Any) -> list[str]:
    if principal == "*":
        return ["*"]
    found: list[str] = []
    if isinstance(principal, dict):
        for value in principal.values():
            found += value if isinstance(value, list) else [value]
    return [str(p) for p in found]


def policy_document(document: Any) -> Any:
    """An IAM-style policy whose list-valued fields are always lists, so conditions can use
    `contains` and `any-item`: Statement, (Not)Action and (Not)Resource become lists, and each
    statement gets `Principals`, every principal it names ("*" for anyone)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return document  # kept as text: a policy cannot match a document it cannot read
    if not isinstance(document, dict):
        return document
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    for statement in statements:
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if isinstance(statement.get(key), str):
                statement[key] = [statement[key]]
        statement["Principals"] = _principals(statement.get("Principal"))
    document["Statement"] = statements
    return document


def _settings_map(pairs: list[dict]) -> dict[str, Any]:
    """Key/Value attribute lists as an object. Dots in keys become underscores (a dot is a step in
    a key path) and "true"/"false" become booleans."""
    values: dict[str, Any] = {}
    for pair in pairs or []:
        value = pair.get("Value")
        values[str(pair.get("Key", "")).replace(".", "_")] = {"true": True, "false": False}.get(value, value)
    return values


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


# -- S3 and EC2 -------------------------------------------------------------------------------------


@resource_types.register("aws.s3.bucket")
class S3Bucket(AwsResource):
    service = "s3"
    global_service = True
    list_operation = "list_buckets"
    list_key = "Buckets"
    paging = None
    page_size_param = None
    id_template = "{Name}"
    arn = "arn:aws:s3:::{Name}"
    details = (
        Detail("get_bucket_location", {"Bucket": Ref("Name")}, "LocationConstraint", "LocationConstraint"),
        Detail(
            "get_bucket_encryption",
            {"Bucket": Ref("Name")},
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionConfiguration",
            missing_codes=("ServerSideEncryptionConfigurationNotFoundError",),
        ),
        Detail(
            "get_public_access_block",
            {"Bucket": Ref("Name")},
            "PublicAccessBlockConfiguration",
            "PublicAccessBlockConfiguration",
            missing_codes=("NoSuchPublicAccessBlockConfiguration",),
        ),
        Detail("get_bucket_versioning", {"Bucket": Ref("Name")}, "Versioning"),
        Detail("get_bucket_policy", {"Bucket": Ref("Name")}, "Policy", "Policy", missing_codes=("NoSuchBucketPolicy",)),
        Detail("get_bucket_acl", {"Bucket": Ref("Name")}, "Acl"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return item.get("LocationConstraint") or HOME_REGION


@resource_types.register("aws.ec2.security-group")
class SecurityGroup(AwsResource):
    service = "ec2"
    list_operation = "describe_security_groups"
    list_key = "SecurityGroups"
    id_template = "{GroupId}"
    name_template = "{GroupName}"
    arn = "arn:aws:ec2:{region}:{account}:security-group/{GroupId}"

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for key in ("IpPermissions", "IpPermissionsEgress"):
            for permission in item.get(key, []):
                permission["Ports"] = _port_spec(permission)
        return item


@resource_types.register("aws.ec2.instance")
class Ec2Instance(AwsResource):
    service = "ec2"
    list_operation = "describe_instances"
    list_key = "Reservations.Instances"  # instances come grouped by the reservation that launched them
    id_template = "{InstanceId}"
    arn = "arn:aws:ec2:{region}:{account}:instance/{InstanceId}"
    skip_when = {"key": "State.Name", "eq": "terminated"}  # listed for an hour after termination
    volatile = ("State", "StateReason", "StateTransitionReason")


@resource_types.register("aws.ec2.volume")
class EbsVolume(AwsResource):
    service = "ec2"
    list_operation = "describe_volumes"
    list_key = "Volumes"
    page_size_limits = (5, 500)
    id_template = "{VolumeId}"
    arn = "arn:aws:ec2:{region}:{account}:volume/{VolumeId}"
    volatile = ("State", "Attachments")


@resource_types.register("aws.ec2.snapshot")
class EbsSnapshot(AwsResource):
    service = "ec2"
    list_operation = "describe_snapshots"
    list_key = "Snapshots"
    # Without an owner the listing includes every public snapshot. The same as a filter too:
    # AWS-compatible endpoints such as moto honour the filter where they ignore OwnerIds.
    list_params = {"OwnerIds": ["self"], "Filters": [{"Name": "owner-id", "Values": [Ref("account")]}]}
    id_template = "{SnapshotId}"
    arn = "arn:aws:ec2:{region}::snapshot/{SnapshotId}"
    details = (
        Detail(
            "describe_snapshot_attribute",
            {"SnapshotId": Ref("SnapshotId"), "Attribute": "createVolumePermission"},
            "CreateVolumePermissions",
            "CreateVolumePermissions",
        ),
    )
    volatile = ("State", "Progress")


@resource_types.register("aws.ec2.ebs-encryption-default")
class EbsEncryptionDefault(AwsResource):
    """One pseudo-resource per region: the account's default encryption of new EBS volumes."""

    service = "ec2"
    list_operation = "get_ebs_encryption_by_default"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:ec2:{region}:{account}:ebs-encryption-by-default"


@resource_types.register("aws.ec2.vpc")
class Vpc(AwsResource):
    service = "ec2"
    list_operation = "describe_vpcs"
    list_key = "Vpcs"
    id_template = "{VpcId}"
    arn = "arn:aws:ec2:{region}:{account}:vpc/{VpcId}"
    details = (
        Detail(
            "describe_flow_logs",
            {"Filters": [{"Name": "resource-id", "Values": [Ref("VpcId")]}]},
            "FlowLogs",
            "FlowLogs",
        ),
    )


# -- IAM (global) ------------------------------------------------------------------------------------


class _IamResource(AwsResource):
    service = "iam"
    global_service = True
    paging = ("Marker", "Marker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 1000)
    arn = "{Arn}"
    arn_prefix = "arn:aws:iam::"


@resource_types.register("aws.iam.user")
class IamUser(_IamResource):
    list_operation = "list_users"
    list_key = "Users"
    id_template = "{UserName}"
    name_template = "{UserName}"
    details = (
        Detail("list_mfa_devices", {"UserName": Ref("UserName")}, "MFADevices", "MFADevices"),
        Detail("list_access_keys", {"UserName": Ref("UserName")}, "AccessKeys", "AccessKeyMetadata"),
        Detail(
            "get_access_key_last_used",
            {"AccessKeyId": Ref("AccessKeyId")},
            "LastUsed",
            "AccessKeyLastUsed",
            each="AccessKeys",
        ),
        Detail("get_login_profile", {"UserName": Ref("UserName")}, "LoginProfile", "LoginProfile", ("NoSuchEntity",)),
        Detail("list_attached_user_policies", {"UserName": Ref("UserName")}, "AttachedPolicies", "AttachedPolicies"),
        Detail("list_user_policies", {"UserName": Ref("UserName")}, "InlinePolicyNames", "PolicyNames"),
    )
    volatile = ("PasswordLastUsed",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # Ages in whole days at collection time, so policies compare numbers (`gt: 90`).
        item["HasConsolePassword"] = item.get("LoginProfile") is not None
        item["MFAEnabled"] = bool(item.get("MFADevices"))
        for key in item.get("AccessKeys", []):
            key["AgeDays"] = _days_since(key.get("CreateDate"), now)
            last_used = (key.get("LastUsed") or {}).get("LastUsedDate")
            # A key never used has been unused since it was created.
            key["DaysSinceLastUse"] = _days_since(last_used, now) if last_used else key["AgeDays"]
        item["ActiveAccessKeyCount"] = sum(1 for k in item.get("AccessKeys", []) if k.get("Status") == "Active")
        return item


@resource_types.register("aws.iam.role")
class IamRole(_IamResource):
    list_operation = "list_roles"
    list_key = "Roles"
    id_template = "{RoleName}"
    name_template = "{RoleName}"
    volatile = ("RoleLastUsed",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["AssumeRolePolicyDocument"] = policy_document(item.get("AssumeRolePolicyDocument"))
        return item


@resource_types.register("aws.iam.policy")
class IamPolicy(_IamResource):
    """Customer-managed policies with the document of their default version."""

    list_operation = "list_policies"
    list_key = "Policies"
    list_params = {"Scope": "Local"}
    id_template = "{PolicyName}"
    name_template = "{PolicyName}"
    details = (
        Detail(
            "get_policy_version",
            {"PolicyArn": Ref("Arn"), "VersionId": Ref("DefaultVersionId")},
            "Document",
            "PolicyVersion.Document",
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["Document"] = policy_document(item.get("Document"))
        return item


@resource_types.register("aws.iam.password-policy")
class IamPasswordPolicy(_IamResource):
    """One pseudo-resource per account. Without a policy the document has no `PasswordPolicy`,
    so the password policies fail rather than find nothing to check."""

    list_operation = "get_account_password_policy"
    singleton = True
    paging = None
    page_size_param = None
    missing_codes = ("NoSuchEntity",)
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:iam::{account}:account-password-policy"
    arn_prefix = None


@resource_types.register("aws.iam.account-summary")
class IamAccountSummary(_IamResource):
    """One pseudo-resource per account: the root user's MFA and access keys, among other counts."""

    list_operation = "get_account_summary"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:iam::{account}:root"
    arn_prefix = None


# -- RDS ---------------------------------------------------------------------------------------------


class _RdsResource(AwsResource):
    service = "rds"
    paging = ("Marker", "Marker")
    page_size_param = "MaxRecords"
    page_size_limits = (20, 100)
    arn_prefix = "arn:aws:rds:"


@resource_types.register("aws.rds.instance")
class RdsInstance(_RdsResource):
    list_operation = "describe_db_instances"
    list_key = "DBInstances"
    id_template = "{DBInstanceIdentifier}"
    name_template = "{DBInstanceIdentifier}"
    arn = "{DBInstanceArn}"
    volatile = ("DBInstanceStatus", "LatestRestorableTime", "PendingModifiedValues")


@resource_types.register("aws.rds.snapshot")
class RdsSnapshot(_RdsResource):
    list_operation = "describe_db_snapshots"
    list_key = "DBSnapshots"
    id_template = "{DBSnapshotIdentifier}"
    name_template = "{DBSnapshotIdentifier}"
    arn = "{DBSnapshotArn}"
    details = (
        Detail(
            "describe_db_snapshot_attributes",
            {"DBSnapshotIdentifier": Ref("DBSnapshotIdentifier")},
            "SnapshotAttributes",
            "DBSnapshotAttributesResult.DBSnapshotAttributes",
        ),
    )
    volatile = ("Status", "PercentProgress")


# -- logging, keys, functions, load balancers, configuration --------------------------------------


@resource_types.register("aws.cloudtrail.trail")
class CloudTrailTrail(AwsResource):
    service = "cloudtrail"
    list_operation = "describe_trails"
    list_key = "trailList"
    # Only trails whose home is this region: a multi-region trail is otherwise listed in every region.
    list_params = {"includeShadowTrails": False}
    paging = None
    page_size_param = None
    id_template = "{Name}"
    name_template = "{Name}"
    arn = "{TrailARN}"
    arn_prefix = "arn:aws:cloudtrail:"
    details = (
        Detail("get_trail_status", {"Name": Ref("TrailARN")}, "Status"),
        Detail("get_event_selectors", {"TrailName": Ref("TrailARN")}, "Selectors"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for key in ("Status", "Selectors"):
            if isinstance(item.get(key), dict):
                item[key].pop("TrailARN", None)
        return item


@resource_types.register("aws.kms.key")
class KmsKey(AwsResource):
    """Customer-managed keys; AWS-managed keys are rotated by AWS and are not the account's to fix."""

    service = "kms"
    list_operation = "list_keys"
    list_key = "Keys"
    paging = ("Marker", "NextMarker")
    page_size_param = "Limit"
    id_template = "{KeyId}"
    arn = "{KeyArn}"
    arn_prefix = "arn:aws:kms:"
    details = (
        Detail("describe_key", {"KeyId": Ref("KeyId")}, "KeyMetadata", "KeyMetadata"),
        Detail(
            "get_key_rotation_status",
            {"KeyId": Ref("KeyId")},
            "KeyRotationEnabled",
            "KeyRotationEnabled",
            # Asymmetric, HMAC and pending-deletion keys have no rotation status.
            missing_codes=("UnsupportedOperationException", "KMSInvalidStateException"),
            when={"key": "KeyMetadata.KeyManager", "eq": "CUSTOMER"},
        ),
    )
    skip_when = {"key": "KeyMetadata.KeyManager", "eq": "AWS"}


@resource_types.register("aws.lambda.function")
class LambdaFunction(AwsResource):
    service = "lambda"
    list_operation = "list_functions"
    list_key = "Functions"
    paging = ("Marker", "NextMarker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 50)
    id_template = "{FunctionName}"
    name_template = "{FunctionName}"
    arn = "{FunctionArn}"
    arn_prefix = "arn:aws:lambda:"
    details = (
        Detail(
            "get_policy",
            {"FunctionName": Ref("FunctionArn")},
            "Policy",
            "Policy",
            missing_codes=("ResourceNotFoundException",),  # no resource-based policy
        ),
    )
    volatile = ("LastModified", "State", "LastUpdateStatus")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item


class _Elbv2Resource(AwsResource):
    service = "elbv2"
    paging = ("Marker", "NextMarker")
    page_size_param = "PageSize"
    page_size_limits = (1, 400)
    arn_prefix = "arn:aws:elasticloadbalancing:"


@resource_types.register("aws.elbv2.load-balancer")
class LoadBalancer(_Elbv2Resource):
    list_operation = "describe_load_balancers"
    list_key = "LoadBalancers"
    id_template = "{LoadBalancerName}"
    name_template = "{LoadBalancerName}"
    arn = "{LoadBalancerArn}"
    details = (
        Detail(
            "describe_load_balancer_attributes", {"LoadBalancerArn": Ref("LoadBalancerArn")}, "Attributes", "Attributes"
        ),
    )
    volatile = ("State",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["Attributes"] = _settings_map(item.get("Attributes", []))
        return item


@resource_types.register("aws.elbv2.listener")
class Listener(_Elbv2Resource):
    """Listeners of each load balancer (a child type: the API lists them per load balancer ARN)."""

    list_operation = "describe_listeners"
    list_key = "Listeners"
    parent = "aws.elbv2.load-balancer"
    parent_params = {"LoadBalancerArn": Ref("LoadBalancerArn")}
    parent_fields = ("LoadBalancerName",)
    id_template = "{ListenerArn}"
    name_template = "{LoadBalancerName}:{Port}"
    arn = "{ListenerArn}"


@resource_types.register("aws.logs.log-group")
class LogGroup(AwsResource):
    service = "logs"
    list_operation = "describe_log_groups"
    list_key = "logGroups"
    paging = ("nextToken", "nextToken")
    page_size_param = "limit"
    page_size_limits = (1, 50)
    id_template = "{logGroupName}"
    name_template = "{logGroupName}"
    arn = "arn:aws:logs:{region}:{account}:log-group:{logGroupName}"
    volatile = ("storedBytes", "metricFilterCount")


@resource_types.register("aws.config.recorder")
class ConfigRecorder(AwsResource):
    """One pseudo-resource per region, with the region's configuration recorders and their status:
    a region without a recorder yields a document with empty lists, which the policies fail."""

    service = "config"
    list_operation = "describe_configuration_recorders"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:config:{region}:{account}:configuration-recorder"
    details = (
        Detail(
            "describe_configuration_recorder_status", {}, "ConfigurationRecordersStatus", "ConfigurationRecordersStatus"
        ),
    )


# -- the engine ----------------------------------------------------------------------------------------


class _Fields(dict):
    def __missing__(self, key):
        return ""


def _at(value: Any, path: str) -> Any:
    """The value at a key path of an answer, or None."""
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


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
        resolved = _at(source, value.path)
        if resolved is None:
            raise KeyError(f"the listed item has no '{value.path}' for a request parameter")
        return resolved
    if isinstance(value, dict):
        return {k: _resolve(v, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, source) for v in value]
    return value


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


# One cheap read per service the resource types use, for verify(): (the permission it needs, service,
# operation, parameters). A denied probe names the permission the account's role lacks.
PROBES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("s3:ListAllMyBuckets", "s3", "list_buckets", {}),
    ("ec2:DescribeSecurityGroups", "ec2", "describe_security_groups", {"MaxResults": 5}),
    ("iam:GetAccountSummary", "iam", "get_account_summary", {}),
    ("rds:DescribeDBInstances", "rds", "describe_db_instances", {"MaxRecords": 20}),
    ("cloudtrail:DescribeTrails", "cloudtrail", "describe_trails", {}),
    ("kms:ListKeys", "kms", "list_keys", {"Limit": 1}),
    ("lambda:ListFunctions", "lambda", "list_functions", {"MaxItems": 1}),
    ("elasticloadbalancing:DescribeLoadBalancers", "elbv2", "describe_load_balancers", {"PageSize": 1}),
    ("logs:DescribeLogGroups", "logs", "describe_log_groups", {"limit": 1}),
    ("config:DescribeConfigurationRecorders", "config", "describe_configuration_recorders", {}),
)
GLOBAL_SERVICES = ("iam", "s3", "sts")


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

    def verify(self) -> list[dict]:
        """Checks that the credentials work and that one cheap read per service is allowed; each
        says what failed (the permission for a denied call), so a caller can fix the role."""
        checks = []
        try:
            identity = self._call(lambda: self.client("sts", GLOBAL_REGION).get_caller_identity(), None, GLOBAL_REGION)
            checks.append({"check": "credentials", "ok": True, "message": f"Authenticated as {identity['Arn']}"})
        except CollectionError as exc:
            checks.append({"check": "credentials", "ok": False, "message": f"{exc.code}: {exc.message}"})
            skipped = "Not checked: the credentials do not work"
            return checks + [{"check": action, "ok": False, "message": skipped} for action, *_ in PROBES]
        region = self.configured_regions[0] if self.configured_regions else HOME_REGION
        for action, service, operation, params in PROBES:
            client = self.client(service, GLOBAL_REGION if service in GLOBAL_SERVICES else region)
            try:
                self._call(lambda c=client, o=operation, p=params: getattr(c, o)(**p), None, region)
            except CollectionError as exc:
                if exc.code in DENIED_CODES:
                    message = f"Missing permission {action} ({exc.code}: {exc.message})"
                else:
                    message = f"{action} failed: {exc.code}: {exc.message}"
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
            try:
                return call()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in retryable or attempt >= self.settings.aws_max_attempts:
                    raise _error(exc, name, region) from exc
            except TRANSIENT_ERRORS as exc:
                if attempt >= self.settings.aws_max_attempts:
                    raise _error(exc, name, region) from exc
            except (BotoCoreError, NoCredentialsError) as exc:
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
        account = self.account_number
        client = self.client(spec.service, region)
        for items in self._listing(spec, region, account):
            resources = self._documents(spec, client, items, region, account)
            if resources:
                yield resources

    def _listing(self, spec: type[AwsResource], region: str, account: str) -> Iterator[list[dict]]:
        """Raw items page by page: a singleton's one answer, a child type's items per parent item,
        or the type's own paged listing."""
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
        client = self.client(spec.service, region)
        params = _resolve(spec.list_params, {"account": account, "region": region})
        try:
            answer = self._call(lambda: getattr(client, spec.list_operation)(**params), spec, region)
        except CollectionError as exc:
            if exc.code in spec.missing_codes:
                return {}
            raise
        answer.pop("ResponseMetadata", None)
        return answer

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
            if items:
                yield items
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
        now = self.now()
        resources = []
        for item in items:
            item = spec.normalise(jsonable(item), now)
            if spec.skip_check and spec.skip_check(item):
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

    def _detail(self, spec, client, item: dict, region: str) -> dict:
        item = dict(item)
        for detail in spec.details:
            if detail.check and not detail.check(item):
                continue
            if detail.each:
                item[detail.each] = targets = [dict(element) for element in item.get(detail.each) or []]
            else:
                targets = [item]
            for target in targets:
                params = _resolve(detail.params, target)
                try:
                    answer = self._call(lambda d=detail, p=params: getattr(client, d.operation)(**p), spec, region)
                except CollectionError as exc:
                    if exc.code in detail.missing_codes:
                        continue
                    raise
                answer.pop("ResponseMetadata", None)
                target[detail.into] = _at(answer, detail.result_key) if detail.result_key else answer
        return item


def _name_tag(item: dict) -> str | None:
    for tag in item.get("Tags") or []:
        if isinstance(tag, dict) and tag.get("Key") == "Name" and tag.get("Value"):
            return str(tag["Value"])
    return None
