"""Request helpers shared by the views: the process's Services, the caller, the JSON body."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from shared.platform import jsonin
from shared.platform.context import Services
from shared.platform.errors import DomainError, InvalidRequest
from shared.platform.schemas import error_details


def services() -> Services:
    return current_app.extensions["policycortex"]


def tenant_id() -> str:
    return g.principal.tenant_id


def base_url() -> str:
    return services().settings.public_url or request.host_url


def json_body() -> Any:
    """The request's JSON, checked (shared.platform.jsonin): a bad document is a 400 naming where."""
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        return jsonin.loads(request.get_data())
    except jsonin.JsonInputError as exc:
        raise InvalidRequest(
            "The request body is not valid JSON" if exc.message == "Malformed JSON" else "The request body is refused",
            details=[{"field": exc.field, "message": exc.message}],
        ) from None


def load(schema: Schema, data: Any, error: type[DomainError] = InvalidRequest) -> dict:
    """Validate with marshmallow; a bad field becomes one `details` entry of the given error."""
    if not isinstance(data, dict):
        raise error(details=[{"field": "body", "message": "Expected a JSON object"}])
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise error(details=error_details(exc.messages)) from None


def pagination(total: int, limit: int, offset: int, count: int) -> dict:
    return {"total": total, "limit": limit, "offset": offset, "has_more": offset + count < total}
