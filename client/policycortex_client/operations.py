"""Every call the client makes, in one table: its HTTP method, path template, the query parameters
and headers it may send. The client sends nothing that is not declared here, and a test checks the
table against GET /v1/openapi.json (tests/client/test_drift.py), so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as in the OpenAPI document: /v1/scans/{scan_id}
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()


IDEMPOTENCY = ("Idempotency-Key",)
SCAN_FILTERS = ("limit", "offset", "status", "environment", "scan_type", "created_after", "created_before")
VIOLATION_FILTERS = ("severity", "policy", "framework", "resource", "new", "muted", "limit", "cursor")
FINDING_FILTERS = (
    "status",
    "severity",
    "provider",
    "account_id",
    "region",
    "policy",
    "framework",
    "control",
    "resource",
    "first_seen_after",
    "first_seen_before",
    "limit",
    "cursor",
)

OPERATIONS: dict[str, Operation] = {
    # scans
    "scans.trigger": Operation("POST", "/v1/scans", headers=IDEMPOTENCY),
    "scans.list": Operation("GET", "/v1/scans", query=SCAN_FILTERS),
    "scans.get": Operation("GET", "/v1/scans/{scan_id}"),
    "scans.cancel": Operation("DELETE", "/v1/scans/{scan_id}"),
    "scans.compliance": Operation("GET", "/v1/scans/{scan_id}/compliance"),
    "scans.remediations": Operation("GET", "/v1/scans/{scan_id}/remediations"),
    "scans.violations": Operation("GET", "/v1/scans/{scan_id}/violations", query=VIOLATION_FILTERS),
    "scans.stream": Operation("GET", "/v1/scans/{scan_id}/stream"),  # a WebSocket upgrade
    # reports
    "reports.report": Operation("GET", "/v1/scans/{scan_id}/report", query=("format", "muted")),
    "reports.evidence_pack": Operation(
        "GET", "/v1/scans/{scan_id}/compliance/{framework_id}/report", query=("format",)
    ),
    # schedules
    "schedules.create": Operation("POST", "/v1/scans/schedules", headers=IDEMPOTENCY),
    "schedules.list": Operation("GET", "/v1/scans/schedules", query=("enabled", "environment", "q", "limit", "offset")),
    "schedules.get": Operation("GET", "/v1/scans/schedules/{schedule_id}"),
    "schedules.update": Operation("PATCH", "/v1/scans/schedules/{schedule_id}"),
    "schedules.delete": Operation("DELETE", "/v1/scans/schedules/{schedule_id}"),
    "schedules.run": Operation("POST", "/v1/scans/schedules/{schedule_id}/run"),
    "schedules.fire_webhook": Operation("POST", "/v1/scans/schedules/{schedule_id}/webhook"),
    # accounts
    "accounts.create": Operation("POST", "/v1/accounts", headers=IDEMPOTENCY),
    "accounts.list": Operation("GET", "/v1/accounts", query=("provider", "environment", "limit", "offset")),
    "accounts.get": Operation("GET", "/v1/accounts/{account_id}"),
    "accounts.delete": Operation("DELETE", "/v1/accounts/{account_id}"),
    "accounts.verify": Operation("POST", "/v1/accounts/{account_id}/verify"),
    "accounts.push_inventory": Operation("POST", "/v1/accounts/{account_id}/inventory"),
    # findings
    "findings.list": Operation("GET", "/v1/findings", query=FINDING_FILTERS),
    "findings.get": Operation("GET", "/v1/findings/{finding_id}"),
    # mute rules
    "mute_rules.create": Operation("POST", "/v1/mute-rules"),
    "mute_rules.list": Operation("GET", "/v1/mute-rules", query=("state", "limit", "offset")),
    "mute_rules.get": Operation("GET", "/v1/mute-rules/{rule_id}"),
    "mute_rules.update": Operation("PATCH", "/v1/mute-rules/{rule_id}"),
    "mute_rules.disable": Operation("POST", "/v1/mute-rules/{rule_id}/disable"),
}
