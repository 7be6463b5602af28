"""Response bodies of the API as marshmallow schemas, for the OpenAPI document only (the views render
dicts): each mirrors the function that renders it, and the reference's example responses validate
against them. A field the reference's example leaves out is optional; a nullable one says so."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.accounts.models import PROVIDERS
from shared.accounts.service import COLLECTIONS, AccountRequestSchema
from shared.catalog.frameworks import ControlSchema, FrameworkSchema
from shared.notifications.messages import EVENTS
from shared.notifications.schemas import DELIVERY_STATUSES, ChannelRequestSchema
from shared.policies.policy import PolicySchema
from shared.policies.severities import SEVERITIES
from shared.scans.schemas import SCAN_TYPES, STATUSES, ExecutionSchema, RemediationSchema, ScopeSchema
from shared.schedules.service import ScheduleRequestSchema

# --- errors -----------------------------------------------------------------------------------


class ErrorDetailSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class ErrorSchema(Schema):
    """The error envelope of every error, with the extra fields some errors add."""

    error = fields.String(required=True)
    error_description = fields.String(required=True)
    error_code = fields.String(required=True)
    details = fields.List(fields.Nested(ErrorDetailSchema))
    current_scans = fields.Integer(metadata={"description": "SCAN_002: scans running now"})
    max_concurrent = fields.Integer(metadata={"description": "SCAN_002: the tenant's limit"})
    queue_position = fields.Integer(metadata={"description": "SCAN_002: scans already waiting"})
    estimated_wait_time = fields.String(metadata={"description": "SCAN_002, e.g. `15m`"})
    retry_after = fields.Integer(metadata={"description": "SCAN_002: seconds, as in the Retry-After header"})
    status = fields.String(metadata={"description": "SCAN_003: the status the scan ended with"})
    frameworks = fields.List(fields.String(), metadata={"description": "REQ_409: frameworks using the policy"})
    purged_at = fields.String(metadata={"description": "SCAN_004: when retention deleted the violations"})
    timestamp = fields.String(required=True)


# --- shared pieces ----------------------------------------------------------------------------


class PaginationSchema(Schema):
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)


class CursorPaginationSchema(Schema):
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={"description": "pass as `cursor`"})


class MonitoringSchema(Schema):
    progress_url = fields.String(required=True)
    websocket_url = fields.String(required=True)


# --- scans (shared/scans/render.py) -------------------------------------------------------------


class ScanHeadSchema(Schema):
    """What every rendering of a scan starts with."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    scan_type = fields.String(required=True, validate=validate.OneOf(SCAN_TYPES))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    environment = fields.String(required=True)


class ScanCreatedSchema(ScanHeadSchema):
    """POST /v1/scans, and the scan a schedule's manual run created."""

    created_at = fields.DateTime(required=True)
    estimated_duration = fields.String(required=True, allow_none=True, metadata={"description": "e.g. `25m`"})
    estimated_resources = fields.Integer(required=True, allow_none=True)
    estimate_basis = fields.String(
        allow_none=True,
        validate=validate.OneOf(("history", "inventory", "heuristic")),
        metadata={"description": "the last scan of the scope, the accounts' inventory, or a per-region heuristic"},
    )
    queue_position = fields.Integer(required=True, metadata={"description": "1 = next to start; 0 = not waiting"})
    scheduled_for = fields.DateTime(allow_none=True, metadata={"description": "a future scan: when it starts"})
    monitoring = fields.Nested(MonitoringSchema, required=True)


class ResultsSummarySchema(Schema):
    compliance_score = fields.Float(required=True, allow_none=True)
    total_violations = fields.Integer(required=True)
    critical_violations = fields.Integer(required=True)
    high_violations = fields.Integer(required=True)
    resources_scanned = fields.Integer(required=True)


class ListProgressSchema(Schema):
    percentage = fields.Float(required=True, metadata={"description": "as in GET /v1/scans/<id>"})


class ScanListItemSchema(ScanHeadSchema):
    cloud_providers = fields.List(fields.String(validate=validate.OneOf(PROVIDERS)), required=True)
    frameworks = fields.List(fields.String(), required=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(required=True, allow_none=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    duration = fields.String(required=True, allow_none=True, metadata={"description": "e.g. `45m32s`"})
    progress = fields.Nested(ListProgressSchema)
    results_summary = fields.Nested(ResultsSummarySchema, required=True)


class ScanListSchema(Schema):
    scans = fields.List(fields.Nested(ScanListItemSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ProgressSchema(Schema):
    total_resources = fields.Integer(required=True, metadata={"description": "an estimate until it completed"})
    scanned_resources = fields.Integer(required=True)
    percentage = fields.Float(required=True, metadata={"description": "only grows; 100 only once completed"})
    basis = fields.String(
        validate=validate.OneOf(("inventory", "shards")),
        metadata={"description": "inventory: weighted by each shard's expected resources; shards: equal shares"},
    )
    total_is_estimate = fields.Boolean()


class ScanErrorSchema(Schema):
    """A listing that failed: recorded on its shard, never read as "no resources"."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    resource_type = fields.String(required=True, allow_none=True)
    region = fields.String(required=True, allow_none=True)


class SeverityCountsSchema(Schema):
    critical = fields.Integer(required=True)
    high = fields.Integer(required=True)
    medium = fields.Integer(required=True)
    low = fields.Integer(required=True)


class ScanResultsSchema(Schema):
    compliance_score = fields.Float(required=True, allow_none=True)
    previous_score = fields.Float(required=True, allow_none=True)
    total_violations = fields.Integer(required=True)
    muted_violations = fields.Integer(metadata={"description": "violations mute rules cover: in none of the figures"})
    new_violations = fields.Integer(required=True, allow_none=True)
    resolved_violations = fields.Integer(required=True, allow_none=True)
    violation_breakdown = fields.Nested(SeverityCountsSchema, required=True)
    errors = fields.List(fields.Nested(ScanErrorSchema))
    carried_forward = fields.Integer(metadata={"description": "incremental scans: verdicts carried forward"})


class RemediationSummarySchema(Schema):
    auto_remediated = fields.Integer(required=True)
    manual_required = fields.Integer(required=True)
    estimated_effort = fields.String(required=True, allow_none=True, metadata={"description": "e.g. `14.5h`"})
    failed_actions = fields.Integer()
    mode = fields.String(validate=validate.OneOf(("off", "dry_run", "on")))


class ScanDetailsSchema(ScanHeadSchema):
    status_reason = fields.String(allow_none=True)
    cloud_providers = fields.List(fields.String(validate=validate.OneOf(PROVIDERS)))
    frameworks = fields.List(fields.String())
    scope = fields.Nested(ScopeSchema)
    execution = fields.Nested(ExecutionSchema)
    remediation_config = fields.Nested(RemediationSchema)
    trigger = fields.String(metadata={"description": "api, cron, manual, webhook, resource_change, policy_update..."})
    created_at = fields.DateTime()
    started_at = fields.DateTime(required=True, allow_none=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    duration = fields.String(required=True, allow_none=True)
    queue_position = fields.Integer()
    scheduled_for = fields.DateTime(allow_none=True, metadata={"description": "a future scan: when it starts"})
    schedule_id = fields.String(allow_none=True, metadata={"description": "the schedule that fired the scan"})
    progress = fields.Nested(ProgressSchema, required=True)
    results = fields.Nested(ScanResultsSchema, required=True)
    remediation = fields.Nested(RemediationSummarySchema, required=True)
    violations_purged_at = fields.DateTime(
        allow_none=True, metadata={"description": "when retention deleted the violations (their list is then 410)"}
    )
    monitoring = fields.Nested(MonitoringSchema)


class PartialResultsSchema(Schema):
    resources_scanned = fields.Integer(required=True)
    total_resources = fields.Integer(required=True)
    completion_percentage = fields.Float(required=True)
    violations_found = fields.Integer(required=True)
    data_available = fields.Boolean(required=True)


class ScanCancelledSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    cancelled_at = fields.DateTime(required=True, allow_none=True)
    partial_results = fields.Nested(PartialResultsSchema, required=True)


# --- scan results (shared/scans/results.py, shared/remediation) ---------------------------------


class ViolationResourceSchema(Schema):
    uid = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    account_id = fields.String(required=True)
    region = fields.String(required=True)


class ViolationRemediationSchema(Schema):
    text = fields.String(required=True, allow_none=True)
    effort = fields.String(required=True)
    action = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, allow_none=True, metadata={"description": "fixed, dry_run, failed"})


def _mappings(**kwargs) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "framework id -> control ids"},
        **kwargs,
    )


class MutedSchema(Schema):
    rule_id = fields.String(required=True, metadata={"description": "the mute rule that covers it"})


class ViolationSchema(Schema):
    id = fields.String(required=True)
    finding_id = fields.String(required=True, metadata={"description": "GET /v1/findings/<id>"})
    policy_id = fields.String(required=True)
    title = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    status_extended = fields.String(required=True)
    is_new = fields.Boolean(required=True, allow_none=True)
    resource = fields.Nested(ViolationResourceSchema, required=True)
    remediation = fields.Nested(ViolationRemediationSchema, required=True)
    frameworks = _mappings(required=True)
    muted = fields.Nested(MutedSchema, required=True, allow_none=True)


class ViolationListSchema(Schema):
    violations = fields.List(fields.Nested(ViolationSchema), required=True)
    pagination = fields.Nested(CursorPaginationSchema, required=True)


CONTROL_STATUSES = ("passed", "failed", "manual", "attested", "not_applicable")


class ControlPolicySchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    rationale = fields.String(required=True, allow_none=True, metadata={"description": "why it evidences the control"})
    checks_evaluated = fields.Integer(required=True)
    checks_failed = fields.Integer(required=True)


class KeyRefSchema(Schema):
    key_id = fields.String(required=True)
    key_name = fields.String(required=True, metadata={"description": "the API key's name (may be empty)"})


class ControlAttestationSchema(Schema):
    """The attestation that counts for a control now (the latest neither revoked nor expired)."""

    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("compliant", "non_compliant", "not_applicable")))
    justification = fields.String(required=True)
    valid_until = fields.DateTime(required=True)
    attested_by = fields.Nested(KeyRefSchema, required=True)


class ControlResultSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(CONTROL_STATUSES),
        metadata={
            "description": "passed/failed by the checks of its policies; without them, what its current attestation "
            "says (attested, failed, not_applicable), else manual (open) or not_applicable (nothing to check)"
        },
    )
    automated = fields.Boolean(required=True, metadata={"description": "at least one policy evidences it"})
    policies = fields.List(fields.Nested(ControlPolicySchema), required=True)
    score = fields.Float(
        required=True, allow_none=True, metadata={"description": "the score formula over its checks; null without"}
    )
    checks_evaluated = fields.Integer(required=True)
    checks_failed = fields.Integer(required=True)
    violations = fields.Integer(required=True)
    failing_resources = fields.List(fields.String(), required=True, metadata={"description": "the first 10 uids"})
    failing_resources_total = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null once retention deleted the violations"}
    )
    attestation = fields.Nested(ControlAttestationSchema, required=True, allow_none=True)


class FrameworkScoreSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.String(required=True)
    score = fields.Float(
        required=True, allow_none=True, metadata={"description": "the mean of its checked controls' scores"}
    )
    controls_total = fields.Integer(required=True)
    controls_automated = fields.Integer(required=True)
    controls_scored = fields.Integer(required=True, metadata={"description": "controls whose checks make the score"})
    controls_passed = fields.Integer(required=True)
    controls_failed = fields.Integer(required=True)
    controls_manual = fields.Integer(required=True, metadata={"description": "open: no evidence, no attestation"})
    controls_attested = fields.Integer(required=True)
    controls_not_applicable = fields.Integer(required=True)


class FrameworkResultSchema(FrameworkScoreSchema):
    controls = fields.List(fields.Nested(ControlResultSchema), required=True)


class ComplianceSchema(Schema):
    scan_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    partial = fields.Boolean(required=True)
    compliance_score = fields.Float(required=True, allow_none=True)
    frameworks = fields.List(fields.Nested(FrameworkResultSchema), required=True)


class AttemptResourceSchema(Schema):
    uid = fields.String(required=True)
    name = fields.String(required=True)
    region = fields.String(required=True)


class RemediationAttemptSchema(Schema):
    violation_id = fields.String(required=True)
    policy_id = fields.String(required=True)
    resource = fields.Nested(AttemptResourceSchema, required=True)
    action = fields.String(required=True)
    dry_run = fields.Boolean(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("fixed", "dry_run", "failed")))
    before = fields.Dict(required=True, allow_none=True)
    after = fields.Dict(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    attempted_at = fields.DateTime(required=True)


class RemediationAttemptListSchema(Schema):
    remediations = fields.List(fields.Nested(RemediationAttemptSchema), required=True)


# --- accounts and inventory (shared/accounts.py, shared/inventory.py) ---------------------------


class AccountSchema(AccountRequestSchema):
    """An account as registered: credentials go in, only `has_credentials` comes out."""

    class Meta:
        exclude = ("credentials",)

    id = fields.String(required=True)
    collection = fields.String(required=True, validate=validate.OneOf(COLLECTIONS))
    inventory_pushed_at = fields.DateTime(required=True, allow_none=True)
    has_credentials = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class AccountListSchema(Schema):
    accounts = fields.List(fields.Nested(AccountSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class VerificationCheckSchema(Schema):
    check = fields.String(required=True)
    ok = fields.Boolean(required=True)
    message = fields.String(required=True)


class AccountVerificationSchema(Schema):
    account_id = fields.String(required=True)
    verified = fields.Boolean(required=True)
    checks = fields.List(fields.Nested(VerificationCheckSchema), required=True)


class InventoryPushedSchema(Schema):
    account_id = fields.String(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(("replace", "merge")))
    received = fields.Integer(required=True)
    stored = fields.Integer(required=True)
    created = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    resource_types = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    pushed_at = fields.DateTime(required=True)


class ResourceSchema(Schema):
    id = fields.String(required=True)
    uid = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    account_id = fields.String(required=True)
    region = fields.String(required=True)
    config_hash = fields.String(required=True)
    first_seen = fields.DateTime(required=True)
    last_seen = fields.DateTime(required=True)
    last_scan_id = fields.String(required=True, allow_none=True)


class ResourceListSchema(Schema):
    resources = fields.List(fields.Nested(ResourceSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ResourceViolationSchema(Schema):
    policy_id = fields.String(required=True)
    title = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    status_extended = fields.String(required=True)
    is_new = fields.Boolean(required=True, allow_none=True)
    scan_id = fields.String(required=True)
    finding_id = fields.String(required=True)
    muted = fields.Nested("MutedSchema", required=True, allow_none=True)


class ResourceDetailsSchema(ResourceSchema):
    configuration = fields.Dict(required=True)
    violations = fields.List(
        fields.Nested(ResourceViolationSchema),
        required=True,
        metadata={"description": "in the last scan that saw the resource"},
    )


class PatchOperationSchema(Schema):
    """One RFC 6902 operation; `path` and `from` are JSON Pointers into the configuration."""

    op = fields.String(required=True, validate=validate.OneOf(("add", "remove", "replace", "move", "copy", "test")))
    path = fields.String(required=True)
    value = fields.Raw(allow_none=True, metadata={"description": "add, replace and test"})
    from_ = fields.String(data_key="from", metadata={"description": "move and copy"})


class ResourceVersionSchema(Schema):
    version = fields.Integer(required=True)
    config_hash = fields.String(required=True)
    scan_id = fields.String(required=True, allow_none=True, metadata={"description": "null for an upload"})
    recorded_at = fields.DateTime(required=True)
    changes = fields.List(
        fields.Nested(PatchOperationSchema),
        required=True,
        metadata={"description": "JSON Patch from the previous version; [] for the first"},
    )
    configuration = fields.Dict(metadata={"description": "with `include=configuration`"})


class HistoryPaginationSchema(Schema):
    limit = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    next_before = fields.Integer(required=True, allow_none=True, metadata={"description": "pass as `before`"})


class ResourceHistorySchema(Schema):
    resource_id = fields.String(required=True)
    current_version = fields.Integer(required=True)
    versions = fields.List(
        fields.Nested(ResourceVersionSchema), required=True, metadata={"description": "newest first"}
    )
    pagination = fields.Nested(HistoryPaginationSchema, required=True)


# --- policies and frameworks (shared/policies/custom.py) ----------------------------------------


class PolicyDetailsSchema(PolicySchema):
    """A policy of the catalogue, built-in or the tenant's own, with the controls that cite it."""

    class Meta:
        exclude = ("examples",)

    source = fields.String(required=True, validate=validate.OneOf(("builtin", "custom")))
    frameworks = _mappings(required=True)


class PolicyListSchema(Schema):
    policies = fields.List(fields.Nested(PolicyDetailsSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class FrameworkControlSchema(ControlSchema):
    automation = fields.String(required=True, validate=validate.OneOf(("automated", "manual")))
    policies = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), metadata={"description": "provider -> policy ids"}
    )
    rationales = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "policy id -> why it evidences this"}
    )
    section = fields.String()
    requirement = fields.String(validate=validate.OneOf(("required", "addressable")), metadata={"description": "HIPAA"})
    level = fields.Integer(metadata={"description": "CIS profile level"})
    assessment = fields.String(validate=validate.OneOf(("automated", "manual")), metadata={"description": "CIS"})
    coverage = fields.String(
        validate=validate.OneOf(("covered", "not_covered", "manual")),
        metadata={"description": "benchmarks: not_covered is automatable with no policy yet"},
    )


class FrameworkDetailsSchema(FrameworkSchema):
    """A framework of the catalogue; `controls` in the answers about one framework only."""

    source = fields.String(required=True, validate=validate.OneOf(("builtin", "custom")))
    controls_total = fields.Integer(required=True)
    controls_automated = fields.Integer(required=True)
    policies_total = fields.Integer(required=True)
    checked_against = fields.String(allow_none=True, metadata={"description": "built-in: the official structure"})
    controls = fields.List(fields.Nested(FrameworkControlSchema))


class FrameworkListSchema(Schema):
    frameworks = fields.List(fields.Nested(FrameworkDetailsSchema), required=True)


# --- schedules (shared/schedules.py) ------------------------------------------------------------


class ScheduleRunSchema(Schema):
    trigger = fields.String(required=True, metadata={"description": "cron, manual, webhook, resource_change, ..."})
    fire_time = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "created", "rejected", "skipped")))
    scan_id = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class ScheduleWebhookSchema(Schema):
    url = fields.String(required=True)
    secret = fields.String(metadata={"description": "shown once, in the creation answer"})


class ScheduleSchema(ScheduleRequestSchema):
    id = fields.String(required=True)
    next_run_at = fields.DateTime(required=True, allow_none=True, metadata={"description": "UTC; null when disabled"})
    next_run_at_local = fields.DateTime(required=True, allow_none=True)
    last_run_at = fields.DateTime(required=True, allow_none=True)
    last_scan_id = fields.String(required=True, allow_none=True)
    recent_runs = fields.List(fields.Nested(ScheduleRunSchema), required=True)
    webhook = fields.Nested(ScheduleWebhookSchema, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ScheduleListSchema(Schema):
    schedules = fields.List(fields.Nested(ScheduleSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ScheduleRunStartedSchema(Schema):
    run = fields.Nested(ScheduleRunSchema, required=True)
    scan = fields.Nested(ScanCreatedSchema, metadata={"description": "absent when the run was rejected"})


class WebhookFiredSchema(Schema):
    run = fields.Nested(ScheduleRunSchema, required=True, allow_none=True)


# --- events (shared/triggers.py) ----------------------------------------------------------------


class ChangeSchema(Schema):
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    resource_uid = fields.String(required=True)
    resource_type = fields.String(required=True, allow_none=True)


class EventsAcceptedSchema(Schema):
    received = fields.Integer(required=True)
    matched_schedules = fields.List(fields.String(), required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class EventGridHandshakeSchema(Schema):
    validationResponse = fields.String(required=True)  # noqa: N815 - Event Grid's spelling


# --- notifications (shared/notifications.py) ----------------------------------------------------


class ChannelSchema(ChannelRequestSchema):
    """A channel with its public config: secrets (SMTP password, Slack URL token) are never shown."""

    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    secret = fields.String(metadata={"description": "a webhook's signing secret, once, in the creation answer"})


class ChannelListSchema(Schema):
    channels = fields.List(fields.Nested(ChannelSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class DeliverySchema(Schema):
    id = fields.String(required=True, metadata={"description": "dlv_ and 16 hex digits"})
    channel_id = fields.String(required=True, allow_none=True, metadata={"description": "null: not sent (last_error)"})
    channel_type = fields.String(required=True)
    event = fields.String(required=True, validate=validate.OneOf(EVENTS))
    scan_id = fields.String(required=True, allow_none=True)
    schedule_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True, allow_none=True)
    response_status = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    payload = fields.Dict(required=True)


class DeliveryListSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


# --- reports (shared/reports) -------------------------------------------------------------------


class ReportInfoSchema(Schema):
    version = fields.Integer(required=True)
    generated_at = fields.DateTime(required=True)
    state = fields.String(
        required=True, validate=validate.OneOf(("completed", "partial", "cancelled", "timed_out", "failed"))
    )
    partial = fields.Boolean(required=True)


class ReportAccountSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    environment = fields.String(required=True)
    regions = fields.List(fields.String(), required=True)


class TrendPointSchema(Schema):
    scan_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    created_at = fields.DateTime(required=True)
    compliance_score = fields.Float(required=True, allow_none=True)
    current = fields.Boolean(required=True, metadata={"description": "the scan of this report"})


class ReportSchema(Schema):
    """`format=json`: each part as the API renders it, and every violation, most severe first."""

    report = fields.Nested(ReportInfoSchema, required=True)
    scan = fields.Nested(ScanDetailsSchema, required=True)
    accounts = fields.List(fields.Nested(ReportAccountSchema), required=True)
    compliance = fields.Nested(ComplianceSchema, required=True)
    trend = fields.List(fields.Nested(TrendPointSchema), required=True, metadata={"description": "oldest first"})
    violations = fields.List(fields.Nested(ViolationSchema), required=True)


class OcsfFindingSchema(Schema):
    """`format=ocsf`: one OCSF 1.1 Compliance Finding (class 2003) per violation; the nested objects
    are OCSF's (metadata, finding_info, compliance, resources, cloud, remediation)."""

    activity_id = fields.Integer(required=True)
    activity_name = fields.String(required=True)
    category_uid = fields.Integer(required=True)
    category_name = fields.String(required=True)
    class_uid = fields.Integer(required=True)
    class_name = fields.String(required=True)
    type_uid = fields.Integer(required=True)
    type_name = fields.String(required=True)
    time = fields.Integer(required=True, metadata={"description": "epoch milliseconds"})
    severity_id = fields.Integer(required=True)
    severity = fields.String(required=True)
    status_id = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    metadata = fields.Dict(required=True)
    finding_info = fields.Dict(required=True)
    compliance = fields.Dict(required=True)
    resources = fields.List(fields.Dict(), required=True)
    cloud = fields.Dict(required=True)
    unmapped = fields.Dict(required=True)
    remediation = fields.Dict()


REPORT_CONTENT = {
    "application/json": {"oneOf": [ReportSchema, {"type": "array", "items": OcsfFindingSchema}]},
    "text/csv": {"type": "string", "description": "`format=csv`: one row per violation"},
    "text/html": {"type": "string", "description": "`format=html`: a printable page"},
}


# --- attestations (shared/attestations) -------------------------------------------------------


class EvidenceFileSchema(Schema):
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    download_url = fields.String(required=True)


class EvidenceSchema(Schema):
    text = fields.String(required=True, allow_none=True)
    url = fields.String(required=True, allow_none=True)
    file = fields.Nested(EvidenceFileSchema, required=True, allow_none=True)


class RevocationSchema(Schema):
    reason = fields.String(required=True)
    revoked_by = fields.Nested(KeyRefSchema, required=True)
    revoked_at = fields.DateTime(required=True)


class AttestationSchema(Schema):
    id = fields.String(required=True)
    framework_id = fields.String(required=True)
    control_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("compliant", "non_compliant", "not_applicable")))
    state = fields.String(required=True, validate=validate.OneOf(("active", "expired", "revoked")))
    justification = fields.String(required=True)
    evidence = fields.Nested(EvidenceSchema, required=True)
    valid_until = fields.DateTime(required=True)
    attested_by = fields.Nested(KeyRefSchema, required=True)
    created_at = fields.DateTime(required=True)
    revocation = fields.Nested(RevocationSchema, required=True, allow_none=True)


class AttestationListSchema(Schema):
    attestations = fields.List(fields.Nested(AttestationSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


EVIDENCE_FILE_CONTENT = {
    "*/*": {"type": "string", "format": "binary", "description": "the file as uploaded, with its content type"}
}
ATTESTATION_UPLOAD = {
    "type": "object",
    "required": ["attestation"],
    "properties": {
        "attestation": {"type": "string", "description": "the attestation document, as JSON"},
        "file": {"type": "string", "format": "binary", "description": "the evidence file (size limited)"},
    },
}


# --- evidence packs (shared/reports/evidence.py) -----------------------------------------------


class PackInfoSchema(Schema):
    kind = fields.String(required=True, validate=validate.Equal("evidence_pack"))
    version = fields.Integer(required=True)
    generated_at = fields.DateTime(required=True)
    state = fields.String(required=True)
    partial = fields.Boolean(required=True)


class PackScanSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    state = fields.String(required=True)
    environment = fields.String(required=True)
    cloud_providers = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    compliance_score = fields.Float(required=True, allow_none=True)


class PackFrameworkSchema(FrameworkScoreSchema):
    source = fields.String(required=True, allow_none=True, metadata={"description": "what its ids were checked on"})


class FailingResourceSchema(Schema):
    uid = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    provider = fields.String(required=True)
    account_id = fields.String(required=True)
    region = fields.String(required=True)
    policies = fields.List(fields.String(), required=True, metadata={"description": "the control's policies it failed"})


class PackControlSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CONTROL_STATUSES))
    automated = fields.Boolean(required=True)
    section = fields.String(required=True, allow_none=True)
    requirement = fields.String(required=True, allow_none=True)
    level = fields.Integer(required=True, allow_none=True)
    assessment = fields.String(required=True, allow_none=True)
    coverage = fields.String(required=True, allow_none=True)
    policies = fields.List(fields.Nested(ControlPolicySchema), required=True)
    score = fields.Float(required=True, allow_none=True)
    checks_evaluated = fields.Integer(required=True)
    checks_failed = fields.Integer(required=True)
    violations = fields.Integer(required=True)
    failing_resources_total = fields.Integer(required=True, allow_none=True)
    failing_resources = fields.List(fields.Nested(FailingResourceSchema), required=True)
    attestation = fields.Nested(AttestationSchema, required=True, allow_none=True)


class EvidencePackSchema(Schema):
    """`format=json`: one framework as the scan saw it, every control with all its evidence."""

    report = fields.Nested(PackInfoSchema, required=True)
    scan = fields.Nested(PackScanSchema, required=True)
    framework = fields.Nested(PackFrameworkSchema, required=True)
    controls = fields.List(fields.Nested(PackControlSchema), required=True)


EVIDENCE_PACK_CONTENT = {
    "application/json": EvidencePackSchema,
    "text/csv": {"type": "string", "description": "`format=csv`: one row per control and failing resource"},
    "text/html": {"type": "string", "description": "`format=html`: a printable page"},
}


# --- findings and mute rules (shared/findings) ---------------------------------------------------


class FindingSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("open", "resolved", "muted")))
    policy_id = fields.String(required=True)
    title = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    status_extended = fields.String(required=True)
    resource = fields.Nested(ViolationResourceSchema, required=True)
    first_seen_at = fields.String(required=True)
    last_seen_at = fields.String(required=True)
    status_changed_at = fields.String(required=True)
    resolved_at = fields.String(required=True, allow_none=True)
    first_scan_id = fields.String(required=True)
    last_scan_id = fields.String(required=True)
    muted = fields.Nested(MutedSchema, required=True, allow_none=True)
    frameworks = _mappings(required=True)


class FindingPaginationSchema(Schema):
    limit = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={"description": "pass as `cursor`"})


class FindingListSchema(Schema):
    findings = fields.List(fields.Nested(FindingSchema), required=True)
    pagination = fields.Nested(FindingPaginationSchema, required=True)


class FindingEventSchema(Schema):
    status = fields.String(required=True)
    reason = fields.String(required=True)
    at = fields.String(required=True)
    scan_id = fields.String(required=True, allow_none=True)
    mute_rule_id = fields.String(required=True, allow_none=True)


class FindingScanSchema(Schema):
    scan_id = fields.String(required=True)
    completed_at = fields.String(required=True, allow_none=True)
    muted = fields.Boolean(required=True)


class IntroducedBySchema(Schema):
    resource_id = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True)
    scan_id = fields.String(required=True, allow_none=True)
    recorded_at = fields.String(required=True)
    history = fields.String(required=True, allow_none=True, metadata={"description": "the resource's history"})


class FindingDetailsSchema(FindingSchema):
    history = fields.List(fields.Nested(FindingEventSchema), required=True)
    scans = fields.List(fields.Nested(FindingScanSchema), required=True)
    introduced_by = fields.Nested(IntroducedBySchema, required=True, allow_none=True)


class MuteAppliedSchema(Schema):
    findings_changed = fields.Integer(required=True)
    scans_recounted = fields.List(fields.String(), required=True)


class MuteRuleChangeSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(("created", "updated", "disabled", "expired")))
    at = fields.String(required=True)
    by = fields.Nested(KeyRefSchema, required=True, allow_none=True)
    rule = fields.Dict(required=True)


class MuteRuleSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    reason = fields.String(required=True)
    policy_ids = fields.List(fields.String(), required=True)
    account_ids = fields.List(fields.String(), required=True)
    regions = fields.List(fields.String(), required=True)
    resources = fields.List(fields.String(), required=True)
    tags = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    expires_at = fields.String(required=True, allow_none=True)
    enabled = fields.Boolean(required=True)
    state = fields.String(required=True, validate=validate.OneOf(("active", "expired", "disabled")))
    created_by = fields.Nested(KeyRefSchema, required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    applied = fields.Nested(MuteAppliedSchema, metadata={"description": "what the change did to findings and scans"})
    history = fields.List(fields.Nested(MuteRuleChangeSchema))


class MuteRuleListSchema(Schema):
    mute_rules = fields.List(fields.Nested(MuteRuleSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)
