"""How a GCP resource type is declared: the Cloud Asset Inventory asset type and content type that
list it, its display name, and the derived fields its shaping adds. Declarations only set
attributes; the engine does the work."""

from __future__ import annotations

from typing import Any, ClassVar

RESOURCE, IAM_POLICY = "RESOURCE", "IAM_POLICY"
# api_core exception class names; ResourceExhausted is a TooManyRequests, so either name matches it.
THROTTLING_CODES = ("TooManyRequests", "ResourceExhausted", "ServiceUnavailable")
PROJECT_ASSET_TYPE = "cloudresourcemanager.googleapis.com/Project"


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
    # The resource's own IAM policy (content type IAM_POLICY, same asset name), attached as
    # `iamPolicy` (empty when it has none), for checks that read access from both.
    own_iam_policy: ClassVar[bool] = False
    volatile: ClassVar[tuple[str, ...]] = ()
    # Verdicts that depend on today's date (ages): an incremental scan evaluates it every time.
    clock_dependent: ClassVar[bool] = False
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
    def pushed(cls, document: dict) -> dict:
        """A document pushed in our JSON: taken as shaped, unless the type says otherwise."""
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        value = document.get(cls.name_field) if cls.name_field else None
        return value if isinstance(value, str) and value else short_id(asset_name)


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


def short_id(asset_name: str) -> str:
    """The last segment of a full resource name: bucket, firewall, instance or dataset name, key id."""
    return asset_name.rstrip("/").rsplit("/", 1)[-1]


def seconds(duration: Any) -> int | None:
    """A protobuf Duration in JSON ("7776000s", "86400.5s") as whole seconds."""
    if not isinstance(duration, str) or not duration.endswith("s"):
        return None
    try:
        return int(float(duration[:-1]))
    except (ValueError, OverflowError):  # "abc", or "1e400s" and "infs", which are no durations either
        return None


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
