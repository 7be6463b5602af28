"""Request schemas of the Scans API (marshmallow), shared by the API, schedules and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from shared.accounts.models import PROVIDERS
from shared.platform.durations import iso, parse_duration
from shared.platform.schemas import Closed, bounded_list, non_blank, offset_field
from shared.remediation.actions import actions

SCAN_TYPES = ("full", "policy_specific", "resource_specific", "incremental")
STATUSES = ("pending", "running", "completed", "failed", "cancelled", "timed_out")
TERMINAL_STATUSES = ("completed", "failed", "cancelled", "timed_out")
CHANNELS = ("email", "slack", "webhook")
MAX_TIMEOUT_SECONDS = 24 * 3600
MAX_START_DELAY = timedelta(days=366)
MAX_LIST = 500  # items in a scope list: globs and policy ids are tenant input
GLOB = validate.Length(min=1, max=2048)  # a resource id or ARN glob
POLICY_ID = validate.Length(min=1, max=100)  # a policy id or group


class ScopeSchema(Closed):
    include_policies = bounded_list(fields.String(validate=POLICY_ID), MAX_LIST, load_default=list)
    include_resources = bounded_list(fields.String(validate=GLOB), MAX_LIST, load_default=list)
    exclude_resources = bounded_list(fields.String(validate=GLOB), MAX_LIST, load_default=list)


def _sane_moment(value: datetime) -> None:
    """Within what PostgreSQL and people mean: years 1970-9999 and a real UTC offset (<= 14 h)."""
    offset = value.utcoffset()
    if offset is None or abs(offset) > timedelta(hours=14):
        raise ValidationError("The UTC offset must be within 14 hours.")
    if not 1970 <= value.year <= 9999:
        raise ValidationError("The year must be between 1970 and 9999.")


class ExecutionSchema(Closed):
    immediate = fields.Boolean(load_default=True)
    # With immediate false: when the scan starts (it then waits as pending, with scheduled_for).
    start_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None, validate=_sane_moment)
    parallel_execution = fields.Boolean(load_default=True)
    timeout = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _when(self, data: dict, **kwargs) -> None:
        start_at = data.get("start_at")
        if data.get("immediate", True):
            if start_at is not None:
                raise ValidationError("A start time needs immediate: false", "start_at")
            return
        if start_at is None:
            raise ValidationError("A scan that is not immediate needs start_at (ISO 8601, in the future)", "start_at")
        now = datetime.now(start_at.tzinfo or UTC)
        if start_at <= now:
            raise ValidationError("start_at must be in the future", "start_at")
        if start_at > now + MAX_START_DELAY:
            raise ValidationError("start_at must be within a year; use a schedule for recurring scans", "start_at")

    @post_load
    def _stored(self, data: dict, **kwargs) -> dict:
        # Kept on the scan as the JSON it is shown as (UTC, whole seconds); absent for immediate scans.
        start_at = data.pop("start_at", None)
        if start_at is not None:
            data["start_at"] = iso(start_at)
        return data

    @validates("timeout")
    def _timeout(self, value: str | None, **kwargs) -> None:
        if value is None:
            return
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if not 60 <= seconds <= MAX_TIMEOUT_SECONDS:
            raise ValidationError("Timeout must be between 1m and 24h.")


class NotificationsSchema(Closed):
    on_completion = fields.Boolean(load_default=False)
    on_failure = fields.Boolean(load_default=False)
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), load_default=list)


def _known_action(name: str) -> None:
    if name not in actions:
        raise ValidationError(f"Unknown remediation action; known: {', '.join(actions.names())}")


class RemediationSchema(Closed):
    """Automatic remediation is opt-in: nothing in the cloud changes unless auto_remediate is true."""

    auto_remediate = fields.Boolean(load_default=False)
    dry_run = fields.Boolean(load_default=False)
    actions = fields.List(fields.String(validate=_known_action), load_default=list)
    max_actions = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ScanRequestSchema(Closed):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), non_blank])
    scan_type = fields.String(required=True, validate=validate.OneOf(SCAN_TYPES))
    environment = fields.String(required=True, validate=[validate.Length(min=1, max=64), non_blank])
    cloud_providers = fields.List(fields.String(validate=validate.OneOf(PROVIDERS)), required=True)
    frameworks = bounded_list(fields.String(validate=validate.Length(min=1, max=64)), 50, load_default=list)
    scope = fields.Nested(ScopeSchema, load_default=lambda: ScopeSchema().load({}))
    execution = fields.Nested(ExecutionSchema, load_default=lambda: ExecutionSchema().load({}))
    notifications = fields.Nested(NotificationsSchema, load_default=lambda: NotificationsSchema().load({}))
    remediation = fields.Nested(RemediationSchema, load_default=lambda: RemediationSchema().load({}))

    @validates("cloud_providers")
    def _providers(self, value: list[str], **kwargs) -> None:
        if not value:
            raise ValidationError("At least one cloud provider must be specified")
        if len(set(value)) != len(value):
            raise ValidationError("Each cloud provider may be listed once")

    @validates_schema
    def _type_needs_scope(self, data: dict, **kwargs) -> None:
        scope = data.get("scope") or {}
        if data.get("scan_type") == "policy_specific" and not scope.get("include_policies"):
            raise ValidationError("A policy_specific scan needs at least one policy", "scope.include_policies")
        if data.get("scan_type") == "resource_specific" and not scope.get("include_resources"):
            raise ValidationError("A resource_specific scan needs at least one resource", "scope.include_resources")


class ScanListQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = offset_field()
    status = fields.String(validate=validate.OneOf(STATUSES))
    environment = fields.String(validate=validate.Length(min=1, max=64))
    scan_type = fields.String(validate=validate.OneOf(SCAN_TYPES))
    created_after = fields.AwareDateTime(default_timezone=None, validate=_sane_moment)
    created_before = fields.AwareDateTime(default_timezone=None, validate=_sane_moment)
