"""Request helpers shared by the views: the process's Services, the caller, the JSON body."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

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
    if not request.is_json:
        raise UnsupportedMediaType()
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidRequest(
            "The request body is not valid JSON", details=[{"field": "body", "message": "Malformed JSON"}]
        )
    return body


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
