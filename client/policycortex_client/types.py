"""The shapes of the API's answers, as api/responses.py declares them (and GET /v1/openapi.json
publishes them). Date-times are ISO 8601 strings, as on the wire. NotRequired marks a field an
answer may leave out; `X | None` one it may set to null."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

ScanStatus = Literal["pending", "running", "completed", "failed", "cancelled", "timed_out"]
Severity = Literal["critical", "high", "medium", "low"]
ReportFormat = Literal["json", "csv", "ocsf", "html"]


# --- pagination ---------------------------------------------------------------------------------


class Pagination(TypedDict):
    total: int
    limit: int
    offset: int
    has_more: bool


class CursorPagination(TypedDict):
    total: NotRequired[int]  # findings leave it out
    limit: int
    has_more: bool
    next_cursor: str | None  # pass as `cursor`


# --- scans --------------------------------------------------------------------------------------


class Monitoring(TypedDict):
    progress_url: str
    websocket_url: str


class ScanCreated(TypedDict):
    """POST /v1/scans, and the scan a schedule's manual run created."""

    id: str
    name: str
    scan_type: str
    status: ScanStatus
    environment: str
    created_at: str
    estimated_duration: str | None
    estimated_resources: int | None
    estimate_basis: NotRequired[str | None]
    queue_position: int  # 1 = next to start; 0 = not waiting
    scheduled_for: NotRequired[str | None]
    monitoring: Monitoring


class ResultsSummary(TypedDict):
    compliance_score: float | None
    total_violations: int
    critical_violations: int
    high_violations: int
    resources_scanned: int


class ScanListItem(TypedDict):
    id: str
    name: str
    scan_type: str
    status: ScanStatus
    environment: str
    cloud_providers: list[str]
    frameworks: list[str]
    created_at: NotRequired[str]
    started_at: str | None
    completed_at: str | None
    duration: str | None
    progress: NotRequired[dict[str, float]]
    results_summary: ResultsSummary


class ScanList(TypedDict):
    scans: list[ScanListItem]
    pagination: Pagination


class Progress(TypedDict):
    total_resources: int
    scanned_resources: int
    percentage: float
    basis: NotRequired[str]
    total_is_estimate: NotRequired[bool]


class ScanError(TypedDict):
    code: str
    message: str
    resource_type: str | None
    region: str | None


class SeverityCounts(TypedDict):
    critical: int
    high: int
    medium: int
    low: int


class ScanResults(TypedDict):
    compliance_score: float | None
    previous_score: float | None
    total_violations: int
    muted_violations: NotRequired[int]
    new_violations: int | None
    resolved_violations: int | None
    violation_breakdown: SeverityCounts
    errors: NotRequired[list[ScanError]]
    carried_forward: NotRequired[int]


class RemediationSummary(TypedDict):
    auto_remediated: int
    manual_required: int
    estimated_effort: str | None
    failed_actions: NotRequired[int]
    mode: NotRequired[str]


class Scan(TypedDict):
    """GET /v1/scans/<id>."""

    id: str
    name: str
    scan_type: str
    status: ScanStatus
    environment: str
    status_reason: NotRequired[str | None]
    cloud_providers: NotRequired[list[str]]
    frameworks: NotRequired[list[str]]
    scope: NotRequired[dict[str, Any]]
    execution: NotRequired[dict[str, Any]]
    remediation_config: NotRequired[dict[str, Any]]
    trigger: NotRequired[str]
    created_at: NotRequired[str]
    started_at: str | None
    completed_at: str | None
    cancelled_at: NotRequired[str | None]
    duration: str | None
    queue_position: NotRequired[int]
    scheduled_for: NotRequired[str | None]
    schedule_id: NotRequired[str | None]
    progress: Progress
    results: ScanResults
    remediation: RemediationSummary
    violations_purged_at: NotRequired[str | None]
    monitoring: NotRequired[Monitoring]


class PartialResults(TypedDict):
    resources_scanned: int
    total_resources: int
    completion_percentage: float
    violations_found: int
    data_available: bool


class ScanCancelled(TypedDict):
    id: str
    status: ScanStatus
    cancelled_at: str | None
    partial_results: PartialResults


class ViolationResource(TypedDict):
    uid: str
    name: str
    type: str
    provider: str
    account_id: str
    region: str


class ViolationRemediation(TypedDict):
    text: str | None
    effort: str
    action: str | None
    status: str | None


class Muted(TypedDict):
    rule_id: str


class Violation(TypedDict):
    id: str
    finding_id: str
    policy_id: str
    title: str
    severity: Severity
    status_extended: str
    is_new: bool | None
    resource: ViolationResource
    remediation: ViolationRemediation
    frameworks: dict[str, list[str]]  # framework id -> control ids
    muted: Muted | None


class ViolationList(TypedDict):
    violations: list[Violation]
    pagination: CursorPagination


class Compliance(TypedDict):
    """GET /v1/scans/<id>/compliance; each framework as api/responses.py FrameworkResultSchema."""

    scan_id: str
    status: ScanStatus
    partial: bool
    compliance_score: float | None
    frameworks: list[dict[str, Any]]


class RemediationAttempts(TypedDict):
    remediations: list[dict[str, Any]]


# --- schedules ----------------------------------------------------------------------------------


class ScheduleRun(TypedDict):
    trigger: str
    fire_time: str
    status: Literal["pending", "created", "rejected", "skipped"]
    scan_id: str | None
    reason: str | None
    created_at: str


class ScheduleWebhook(TypedDict):
    url: str
    secret: NotRequired[str]  # shown once, in the creation answer


class Schedule(TypedDict):
    id: str
    name: str
    description: str
    schedule: dict[str, str]  # cron, timezone
    scan_config: dict[str, Any]
    notifications: dict[str, Any]
    triggers: dict[str, Any]
    enabled: bool
    next_run_at: str | None
    next_run_at_local: str | None
    last_run_at: str | None
    last_scan_id: str | None
    recent_runs: list[ScheduleRun]
    webhook: ScheduleWebhook
    created_at: str
    updated_at: str


class ScheduleList(TypedDict):
    schedules: list[Schedule]
    pagination: Pagination


class ScheduleRunStarted(TypedDict):
    run: ScheduleRun
    scan: NotRequired[ScanCreated]  # absent when the run was rejected


class WebhookFired(TypedDict):
    run: ScheduleRun | None


# --- accounts -----------------------------------------------------------------------------------


class Account(TypedDict):
    id: str
    provider: str
    name: str
    environment: str
    regions: list[str]
    endpoint_url: NotRequired[str | None]
    collection: Literal["api", "inventory"]
    inventory_pushed_at: str | None
    has_credentials: bool
    created_at: str


class AccountList(TypedDict):
    accounts: list[Account]
    pagination: Pagination


class VerificationCheck(TypedDict):
    check: str
    ok: bool
    message: str


class AccountVerification(TypedDict):
    account_id: str
    verified: bool
    checks: list[VerificationCheck]


class InventoryPushed(TypedDict):
    account_id: str
    mode: Literal["replace", "merge"]
    received: int
    stored: int
    created: int
    removed: int
    resource_types: dict[str, int]
    pushed_at: str


# --- findings and mute rules --------------------------------------------------------------------


class Finding(TypedDict):
    id: str
    status: Literal["open", "resolved", "muted"]
    policy_id: str
    title: str
    severity: Severity
    status_extended: str
    resource: ViolationResource
    first_seen_at: str
    last_seen_at: str
    status_changed_at: str
    resolved_at: str | None
    first_scan_id: str
    last_scan_id: str
    muted: Muted | None
    frameworks: dict[str, list[str]]
    # GET /v1/findings/<id> only:
    history: NotRequired[list[dict[str, Any]]]
    scans: NotRequired[list[dict[str, Any]]]
    introduced_by: NotRequired[dict[str, Any] | None]


class FindingList(TypedDict):
    findings: list[Finding]
    pagination: CursorPagination


class KeyRef(TypedDict):
    key_id: str
    key_name: str


class MuteRule(TypedDict):
    id: str
    name: str
    reason: str
    policy_ids: list[str]
    account_ids: list[str]
    regions: list[str]
    resources: list[str]
    tags: dict[str, str]
    expires_at: str | None
    enabled: bool
    state: Literal["active", "expired", "disabled"]
    created_by: KeyRef
    created_at: str
    updated_at: str
    applied: NotRequired[dict[str, Any]]  # what the change did to findings and scans
    history: NotRequired[list[dict[str, Any]]]


class MuteRuleList(TypedDict):
    mute_rules: list[MuteRule]
    pagination: Pagination


# --- the scan stream ----------------------------------------------------------------------------

# One message of GET /v1/scans/<id>/stream: `type` is snapshot (with `scan`), progress, shard,
# status or completed; see the API reference for each one's fields.
StreamMessage = dict[str, Any]
