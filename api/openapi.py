"""GET /v1/openapi.json: the OpenAPI 3 document, generated from the app's routes and the same
marshmallow schemas that validate requests (apispec), with the error envelope on every operation."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

from shared import accounts, inventory, notifications, schedules
from shared.policies import PolicySchema
from shared.policies.custom import FrameworkSchema, PolicyQuerySchema
from shared.scans.results import ViolationQuerySchema
from shared.scans.schemas import ScanListQuerySchema, ScanRequestSchema


class ErrorDetailSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class ErrorSchema(Schema):
    """The error envelope of every error (some add fields, such as SCAN_002's retry_after)."""

    error = fields.String(required=True)
    error_description = fields.String(required=True)
    error_code = fields.String(required=True)
    details = fields.List(fields.Nested(ErrorDetailSchema))
    timestamp = fields.String(required=True)


# Request bodies and query strings, by endpoint: the schemas the views load them with.
BODIES = {
    "scans.trigger_scan": ScanRequestSchema,
    "accounts.create_account": accounts.AccountRequestSchema,
    "schedules.create_schedule": schedules.ScheduleRequestSchema,
    "policies.create_policy": PolicySchema,
    "frameworks.create_framework": FrameworkSchema,
    "notifications.create_channel": notifications.ChannelRequestSchema,
    "notifications.update_channel": notifications.ChannelPatchSchema,
}
QUERIES = {
    "scans.list_scans": ScanListQuerySchema,
    "scans.list_violations": ViolationQuerySchema,
    "accounts.list_accounts": accounts.AccountListQuerySchema,
    "resources.list_resources": inventory.ResourceQuerySchema,
    "policies.list_policies": PolicyQuerySchema,
    "schedules.list_schedules": schedules.ScheduleListQuerySchema,
    "notifications.list_channels": notifications.ChannelListQuerySchema,
    "notifications.list_deliveries": notifications.DeliveryListQuerySchema,
}
ACCEPTED = {
    "scans.trigger_scan",
    "schedules.run_schedule",
    "schedules.webhook_public",
    "events.accept_events",
    "accounts.push_inventory",
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


PREFIXES = {"shared.policies": "Policy", "shared.scans.schemas": "Scan"}  # two RemediationSchema classes


def schema_name(schema: Any) -> str:
    """Component names: the class name without `Schema`, a prefix where two modules share one, and
    `Config` for a schema used with fields excluded (a schedule's scan_config)."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if name == "Remediation":
        name = PREFIXES.get(cls.__module__, "") + name
    if not isinstance(schema, type) and (schema.exclude or schema.only):
        name += "Config"
    return name


def _success(endpoint: str, method: str) -> tuple[str, str]:
    if method == "DELETE":
        return "204", "Deleted"
    if endpoint in ACCEPTED:
        return "202", "Accepted"
    if method == "POST" and endpoint.split(".", 1)[1].startswith("create_"):
        return "201", "Created"
    return "200", "OK"


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
    spec.components.schema("Error", schema=ErrorSchema)
    error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/v1/") or rule.endpoint == "openapi_public":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operations = {}
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            code, description = _success(rule.endpoint, method)
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": (view.__doc__ or rule.endpoint.split(".", 1)[-1].replace("_", " ")).strip().splitlines()[0],
                "tags": [rule.endpoint.split(".", 1)[0]],
                "parameters": [
                    {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                    for name in sorted(rule.arguments)
                ],
                "responses": {code: {"description": description}}
                | {status: {"description": text, **error_ref} for status, text in ERRORS.items()},
            }
            if not rule.endpoint.endswith("_public"):
                operation["security"] = [{"bearer": []}]
            if rule.endpoint in QUERIES and method == "GET":
                operation["parameters"].append({"in": "query", "schema": QUERIES[rule.endpoint]})
            if rule.endpoint in BODIES:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": BODIES[rule.endpoint]}},
                }
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
