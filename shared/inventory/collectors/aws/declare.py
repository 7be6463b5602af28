"""How an AWS resource type is declared: which call lists it, which calls add detail, its ids and
ARN, and the error codes worth retrying. Declarations only set attributes; the engine does the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

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


# A test on a listed item (its document so far): `field_equals("State.Name", "terminated")`.
Predicate = Callable[[dict], bool]


def at_path(value: Any, path: str) -> Any:
    """The value at a key path of an answer or item (a number steps into a list), or None."""
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def field_equals(path: str, expected: Any) -> Predicate:
    """An item whose field at `path` equals `expected`."""
    return lambda item: at_path(item, path) == expected


@dataclass(frozen=True)
class Ref:
    """A request parameter whose value comes from the listed item (or list element): a key path;
    with `tail_after`, only the text after its last occurrence (a Route 53 zone id without its
    "/hostedzone/" prefix, where botocore does not strip it)."""

    path: str
    tail_after: str | None = None


@dataclass(frozen=True)
class Probe:
    """One cheap read of a service for verify(): the IAM permission it needs, the service, the
    operation and its parameters. A denied probe names the permission the account's role lacks."""

    permission: str
    service: str
    operation: str
    params: dict[str, Any]
    # Error codes that mean the call was allowed but the service is not set up in the region
    # (Security Hub off): the permission is there.
    not_set_up_codes: tuple[str, ...] = ()


PROBES: list[Probe] = []  # each service module adds its probe(s) with `probe(...)`


def probe(
    permission: str,
    service: str,
    operation: str,
    params: dict[str, Any] | None = None,
    not_set_up_codes: tuple[str, ...] = (),
) -> None:
    PROBES.append(Probe(permission, service, operation, params or {}, not_set_up_codes))


@dataclass(frozen=True)
class Detail:
    """A call that adds detail to one listed item.

    `params` are constants, with `Ref("Field")` wherever a value comes from the item (nested in
    lists and dicts too, e.g. EC2 filters), or `Ref("account")` / `Ref("region")` where the item
    has no such field. With `each`, the call is made once per element of that
    list in the item, its params resolved against the element and its answer stored in the element.
    """

    operation: str
    params: dict[str, Any]
    into: str  # where the answer goes in the resource document (or list element)
    result_key: str | None = None  # key path of the answer to keep (None: the whole answer)
    missing_codes: tuple[str, ...] = ()  # error codes that mean "not configured": store nothing
    each: str | None = None
    when: Predicate | None = None  # the call is made only for items this holds for (see field_equals)
    # An answer that is a list of plain values (names, ARNs) is stored as a list of {wrap: value},
    # so a later detail can run `each` over it.
    wrap: str | None = None
    # Details run in stages: those of a stage run concurrently, across items and within each one;
    # a detail that reads what an earlier one stored starts a new stage (`each` always does).
    after: bool = False
    # The call is made through another service's client in the same region (e.g. a CloudTrail
    # trail's S3 bucket logging); None: the type's own service.
    service: str | None = None


class AwsResource:
    """Declaration of one AWS resource type; subclasses only set attributes.

    The engine lists it with `list_operation` (paged, or `singleton`: one call whose answer is the
    one pseudo-resource of the region or account), or once per item of its `parent` type. Items
    are found at `list_key` (a key path; lists met on the way are flattened; a paged singleton's
    lists are joined over its pages into its one answer), completed by
    `details`, made JSON, `normalise`d, and dropped when `skip_when` holds.
    """

    provider: ClassVar[str] = "aws"
    service: ClassVar[str]
    global_service: ClassVar[bool] = False
    list_operation: ClassVar[str]
    list_key: ClassVar[str] = ""
    list_wrap: ClassVar[str | None] = None  # listed items that are plain values become {list_wrap: value}
    list_params: ClassVar[dict[str, Any]] = {}  # constants, and Ref("account") / Ref("region")
    # (request parameter, response key) of the paging token; None when one call lists everything.
    paging: ClassVar[tuple[str, str] | None] = ("NextToken", "NextToken")
    page_size_param: ClassVar[str | None] = "MaxResults"
    page_size_limits: ClassVar[tuple[int, int]] = (5, 1000)  # what the API accepts
    singleton: ClassVar[bool] = False
    # A call made once before listing (e.g. generating the IAM credential report); retried like any call.
    prepare_operation: ClassVar[str | None] = None
    missing_codes: ClassVar[tuple[str, ...]] = ()  # listing errors that mean "none configured"
    parent: ClassVar[str | None] = None  # registry name of the type this one is listed under
    parent_params: ClassVar[dict[str, Any]] = {}  # listing parameters from the parent item (Ref)
    parent_fields: ClassVar[tuple[str, ...]] = ()  # parent fields copied into each item
    skip_when: ClassVar[Predicate | None] = None  # items of the finished document this holds for are dropped
    # Templates over the item's fields plus {region} and {account}.
    id_template: ClassVar[str]
    name_template: ClassVar[str | None] = None  # None: the item's Name tag, else its id
    arn: ClassVar[str]
    arn_prefix: ClassVar[str | None] = None  # the literal start of `arn` when it starts with a field
    details: ClassVar[tuple[Detail, ...]] = ()
    volatile: ClassVar[tuple[str, ...]] = ()
    # Verdicts that depend on today's date (ages): an incremental scan evaluates it every time.
    clock_dependent: ClassVar[bool] = False
    retryable_codes: ClassVar[tuple[str, ...]] = THROTTLING_CODES

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        """Derived fields that make policies simple (a port-range string, an age in days)."""
        return item

    @classmethod
    def region_of(cls, item: dict, region: str) -> str:
        return region

    @classmethod
    def pushed(cls, document: dict) -> dict:
        """A document pushed in our JSON: taken as shaped (as this collector stores it)."""
        return document

    @classmethod
    def uid_prefix(cls) -> str:
        return cls.arn_prefix or cls.arn.split("{", 1)[0]
