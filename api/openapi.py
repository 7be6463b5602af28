"""GET /v1/openapi.json: the OpenAPI 3 document, generated from the app's routes and the marshmallow
schemas that validate requests and describe responses (apispec), with the error envelope on every operation."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from api import responses
from shared.accounts import service as accounts
from shared.attestations import service as attestations
from shared.catalog.frameworks import FrameworkQuerySchema, FrameworkSchema
from shared.catalog.policies import PolicyQuerySchema
from shared.findings import queries as findings
from shared.findings import rules as mute_rules
from shared.inventory import history, resources, uploads
from shared.notifications.schemas import (
    ChannelListQuerySchema,
    ChannelPatchSchema,
    ChannelRequestSchema,
    DeliveryListQuerySchema,
)
from shared.policies.policy import PolicySchema
from shared.reports import evidence
from shared.reports import service as reports
from shared.scans.results import ViolationQuerySchema
from shared.scans.schemas import ScanListQuerySchema, ScanRequestSchema
from shared.schedules import service as schedules

# Request bodies and query strings, by endpoint: the schemas the views load them with.
BODIES = {
    "scans.trigger_scan": ScanRequestSchema,
    "accounts.create_account": accounts.AccountRequestSchema,
    "schedules.create_schedule": schedules.ScheduleRequestSchema,
    "policies.create_policy": PolicySchema,
    "frameworks.create_framework": FrameworkSchema,
    "notifications.create_channel": ChannelRequestSchema,
    "notifications.update_channel": ChannelPatchSchema,
    "accounts.push_inventory": uploads.PushSchema,
    # PATCH merges the fields given over the stored ones: the same document, nothing required.
    "schedules.update_schedule": schedules.ScheduleRequestSchema(partial=True),
    "policies.update_policy": PolicySchema(partial=True),
    "frameworks.update_framework": FrameworkSchema(partial=True),
    # JSON, or a form with the JSON in `attestation` and an evidence `file`.
    "attestations.create_attestation": {
        "application/json": attestations.AttestationRequestSchema,
        "multipart/form-data": responses.ATTESTATION_UPLOAD,
    },
    "attestations.revoke_attestation": attestations.RevokeRequestSchema,
    "mute_rules.create_rule": mute_rules.MuteRuleRequestSchema,
    "mute_rules.update_rule": mute_rules.MuteRuleRequestSchema(partial=True),
    "mute_rules.disable_rule": mute_rules.DisableRequestSchema,
    # Events are the clouds' own formats, recognised by their fields (shared/triggers.py).
    "events.accept_events": {
        "description": "An EventBridge/CloudTrail event, an Event Grid batch or a Cloud Asset feed message",
        "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
    },
}
QUERIES = {
    "scans.list_scans": ScanListQuerySchema,
    "scans.list_violations": ViolationQuerySchema,
    "reports.get_report": reports.ReportQuerySchema,
    "accounts.list_accounts": accounts.AccountListQuerySchema,
    "resources.list_resources": resources.ResourceQuerySchema,
    "resources.get_history": history.HistoryQuerySchema,
    "policies.list_policies": PolicyQuerySchema,
    "frameworks.list_frameworks": FrameworkQuerySchema,
    "schedules.list_schedules": schedules.ScheduleListQuerySchema,
    "notifications.list_channels": ChannelListQuerySchema,
    "notifications.list_deliveries": DeliveryListQuerySchema,
    "reports.get_evidence_pack": evidence.EvidenceQuerySchema,
    "attestations.list_attestations": attestations.AttestationQuerySchema,
    "attestations.control_attestations": attestations.AttestationQuerySchema(exclude=("framework", "control")),
    "findings.list_findings": findings.FindingQuerySchema,
    "accounts.push_inventory": uploads.PushQuerySchema,
    "mute_rules.list_rules": mute_rules.MuteRuleQuerySchema,
}
# Success answers, by endpoint: the schema of the body each view renders (a DELETE without one is a 204).
RESPONSES = {
    "scans.trigger_scan": responses.ScanCreatedSchema,
    "scans.list_scans": responses.ScanListSchema,
    "scans.get_scan": responses.ScanDetailsSchema,
    "scans.cancel_scan": responses.ScanCancelledSchema,
    "scans.list_violations": responses.ViolationListSchema,
    "scans.get_compliance": responses.ComplianceSchema,
    "scans.list_remediations": responses.RemediationAttemptListSchema,
    "accounts.create_account": responses.AccountSchema,
    "accounts.list_accounts": responses.AccountListSchema,
    "accounts.get_account": responses.AccountSchema,
    "accounts.verify_account": responses.AccountVerificationSchema,
    "accounts.push_inventory": responses.InventoryPushedSchema,
    "resources.list_resources": responses.ResourceListSchema,
    "resources.get_resource": responses.ResourceDetailsSchema,
    "resources.get_history": responses.ResourceHistorySchema,
    "policies.list_policies": responses.PolicyListSchema,
    "policies.get_policy": responses.PolicyDetailsSchema,
    "policies.create_policy": responses.PolicyDetailsSchema,
    "policies.update_policy": responses.PolicyDetailsSchema,
    "frameworks.list_frameworks": responses.FrameworkListSchema,
    "frameworks.get_framework": responses.FrameworkDetailsSchema,
    "frameworks.create_framework": responses.FrameworkDetailsSchema,
    "frameworks.update_framework": responses.FrameworkDetailsSchema,
    "schedules.create_schedule": responses.ScheduleSchema,
    "schedules.list_schedules": responses.ScheduleListSchema,
    "schedules.get_schedule": responses.ScheduleSchema,
    "schedules.update_schedule": responses.ScheduleSchema,
    "schedules.run_schedule": responses.ScheduleRunStartedSchema,
    "schedules.webhook_public": responses.WebhookFiredSchema,
    "events.accept_events": responses.EventsAcceptedSchema,
    "notifications.create_channel": responses.ChannelSchema,
    "notifications.list_channels": responses.ChannelListSchema,
    "notifications.get_channel": responses.ChannelSchema,
    "notifications.update_channel": responses.ChannelSchema,
    "notifications.test_channel": responses.DeliverySchema,
    "notifications.list_deliveries": responses.DeliveryListSchema,
    "reports.get_report": responses.REPORT_CONTENT,
    "reports.get_evidence_pack": responses.EVIDENCE_PACK_CONTENT,
    "attestations.create_attestation": responses.AttestationSchema,
    "attestations.control_attestations": responses.AttestationListSchema,
    "attestations.list_attestations": responses.AttestationListSchema,
    "attestations.get_attestation": responses.AttestationSchema,
    "attestations.get_evidence": responses.EVIDENCE_FILE_CONTENT,
    "attestations.revoke_attestation": responses.AttestationSchema,
    "findings.list_findings": responses.FindingListSchema,
    "findings.get_finding": responses.FindingDetailsSchema,
    "mute_rules.create_rule": responses.MuteRuleSchema,
    "mute_rules.list_rules": responses.MuteRuleListSchema,
    "mute_rules.get_rule": responses.MuteRuleSchema,
    "mute_rules.update_rule": responses.MuteRuleSchema,
    "mute_rules.disable_rule": responses.MuteRuleSchema,
}
# Answers of one endpoint besides its main success one and the ERRORS of all: (status, description, schema).
ALSO = {
    "events.accept_events": [("200", "Event Grid's validation handshake", responses.EventGridHandshakeSchema)],
    "scans.list_violations": [("410", "SCAN_004: retention deleted the scan's violations", responses.ErrorSchema)],
}
ACCEPTED = {
    "scans.trigger_scan",
    "schedules.run_schedule",
    "schedules.webhook_public",
    "events.accept_events",
    "accounts.push_inventory",
}
# Creations that take an Idempotency-Key header (api/idempotency.py).
IDEMPOTENT = {"scans.trigger_scan", "schedules.create_schedule", "accounts.create_account"}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "The same key and body within 24 h answers the first answer again; another body is 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
# Header parameters besides the API key, by endpoint.
HEADERS = {
    "schedules.webhook_public": [
        {
            "in": "header",
            "name": "X-PolicyCortex-Timestamp",
            "required": True,
            "description": "Unix seconds when the caller signed; one outside the replay window is refused",
            "schema": {"type": "string"},
        },
        {
            "in": "header",
            "name": "X-PolicyCortex-Signature",
            "required": True,
            "description": "`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under the webhook secret",
            "schema": {"type": "string"},
        },
    ],
}
ERRORS = {
    "400": "Invalid request (envelope with one `details` entry per bad field)",
    "401": "Missing, unknown, revoked or expired API key",
    "403": "The API key lacks the scope",
    "404": "Unknown route or object, or another tenant's object",
    "405": "Method not allowed",
    "409": "Conflict with the current state",
    "413": "Body too large",
    "415": "Body is not application/json",
    "429": "Rate limited, or (SCAN_002) the tenant's scan queue is full; see Retry-After",
    "500": "Internal error (logged; no stack trace)",
    "503": "PostgreSQL or Redis unreachable; see Retry-After",
}


# Headers that errors carry, by status: (name, description, always present).
ERROR_HEADERS = {
    "401": [("WWW-Authenticate", "`Bearer` (API-key errors)", False)],
    "405": [("Allow", "The methods the URL allows", True)],
    "429": [("Retry-After", "Seconds to wait before retrying", True)],
    "503": [("Retry-After", "Seconds to wait before retrying", True)],
}


PREFIXES = {"shared.policies.policy": "Policy", "shared.scans.schemas": "Scan"}  # two RemediationSchema classes


def schema_name(schema: Any) -> str:
    """Component names: the class name without `Schema`, a prefix where two modules share one,
    `Config` for a schema used with fields excluded (a schedule's scan_config) and `Patch` for a
    partial one (a PATCH body)."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if name == "Remediation":
        name = PREFIXES.get(cls.__module__, "") + name
    if not isinstance(schema, type):
        if set(schema.exclude) - set(cls.opts.exclude) or schema.only:
            name += "Config"
        if schema.partial:
            name += "Patch"
    return name


def _success(endpoint: str, method: str) -> tuple[str, str]:
    if method == "DELETE" and endpoint not in RESPONSES:  # a cancel answers with what the scan kept
        return "204", "Deleted"
    if endpoint in ACCEPTED:
        return "202", "Accepted"
    if method == "POST" and endpoint.split(".", 1)[1].startswith("create_"):
        return "201", "Created"
    return "200", "OK"


def _content(body: Any) -> dict[str, Any]:
    """A body schema as response content: JSON, or a mapping of media types to schemas."""
    media = body if isinstance(body, dict) and all("/" in key for key in body) else {"application/json": body}
    return {"content": {media_type: {"schema": schema} for media_type, schema in media.items()}}


def _responses(endpoint: str, method: str) -> dict[str, Any]:
    code, description = _success(endpoint, method)
    answers = {code: {"description": description, **(_content(RESPONSES[endpoint]) if endpoint in RESPONSES else {})}}
    for status, text, schema in ALSO.get(endpoint, ()):
        answers[status] = {"description": text, **_content(schema)}
    if endpoint in IDEMPOTENT:
        reused = "REQ_422: the Idempotency-Key was used with another body"
        answers["422"] = {"description": reused, **_content(responses.ErrorSchema)}
    for status, text in ERRORS.items():
        answers[status] = {"description": text, **_content(responses.ErrorSchema)}
        if status in ERROR_HEADERS:
            answers[status]["headers"] = {
                name: {"description": about, "required": always, "schema": {"type": "string"}}
                for name, about, always in ERROR_HEADERS[status]
            }
    return answers


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="PolicyCortex Scans API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=schema_name)],
        info={"description": "Trigger, retrieve, cancel and schedule compliance scans of cloud estates."},
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "sk_live_... or sk_test_... API key"}
    )
    spec.components.schema("Error", schema=responses.ErrorSchema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/v1/") or rule.endpoint == "openapi_public":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operations = {}
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": (view.__doc__ or rule.endpoint.split(".", 1)[-1].replace("_", " ")).strip().splitlines()[0],
                "tags": [rule.endpoint.split(".", 1)[0]],
                "parameters": [
                    {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                    for name in sorted(rule.arguments)
                ],
                "responses": _responses(rule.endpoint, method),
            }
            if not rule.endpoint.endswith("_public"):
                operation["security"] = [{"bearer": []}]
            if rule.endpoint in IDEMPOTENT:
                operation["parameters"].append(IDEMPOTENCY_KEY)
            operation["parameters"] += HEADERS.get(rule.endpoint, [])
            if rule.endpoint in QUERIES:
                operation["parameters"].append({"in": "query", "schema": QUERIES[rule.endpoint]})
            if rule.endpoint in BODIES:
                operation["requestBody"] = {"required": True, **_content(BODIES[rule.endpoint])}
            operations[method.lower()] = operation
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def register_openapi(app: Flask) -> None:
    @app.get("/v1/openapi.json", endpoint="openapi_public")
    def openapi():
        """The OpenAPI 3 document of this API."""
        if "policycortex_openapi" not in app.extensions:
            app.extensions["policycortex_openapi"] = build_spec(app)
        return app.extensions["policycortex_openapi"]
