"""The error envelope of the API reference, for every error: domain, HTTP, validation, outage."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from shared.platform.errors import DomainError

log = logging.getLogger(__name__)

# werkzeug's HTTP errors, as (error, error_code, description) of the envelope.
HTTP_ERRORS = {
    400: ("invalid_request", "REQ_400", "The request could not be understood"),
    401: ("invalid_api_key", "AUTH_001", "A valid API key is required"),
    403: ("insufficient_scope", "AUTH_002", "The API key does not allow this operation"),
    404: ("not_found", "REQ_404", "The requested URL or object does not exist"),
    405: ("method_not_allowed", "REQ_405", "The method is not allowed for this URL"),
    413: ("payload_too_large", "REQ_413", "The request body is too large"),
    415: ("unsupported_media_type", "REQ_415", "The request body must be application/json"),
    429: ("rate_limited", "REQ_429", "Too many requests"),
}


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(http_status: int, error: str, code: str, description: str, *, details=None, headers=None, **extra):
    body = {"error": error, "error_description": description, "error_code": code}
    if details is not None:
        body["details"] = details
    body.update(extra)
    body["timestamp"] = timestamp()
    response = jsonify(body)
    response.status_code = http_status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_input_guard(app: Flask) -> None:
    """NUL characters cannot be stored or compared by PostgreSQL: refuse them at the edge, in the
    path, the query string and the body alike, instead of failing deep inside a query. A view marked
    `streams_body` (the inventory upload, up to its own larger limit) reads its body as a stream and
    refuses NULs in it itself, naming where: its body is not buffered here."""

    @app.before_request
    def _no_nul():
        values = [*request.args.values(), *(request.view_args or {}).values()]
        streamed = getattr(app.view_functions.get(request.endpoint), "streams_body", False)
        if any("\x00" in str(value) for value in values) or (
            request.content_length
            and not streamed
            and (b"\x00" in request.get_data() or b"\\u0000" in request.get_data())
        ):
            return envelope(
                400,
                "invalid_request",
                "REQ_001",
                "Request validation failed",
                details=[{"field": "request", "message": "NUL characters are not allowed"}],
            )
        return None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
        return envelope(
            exc.status, exc.error, exc.error_code, exc.description, details=exc.details, headers=headers, **exc.extra
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        error, code, description = HTTP_ERRORS.get(exc.code, ("http_error", f"REQ_{exc.code}", exc.name))
        headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
        if exc.code == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        if isinstance(exc, RateLimitExceeded):
            # The window's length: by then the caller's budget has certainly been renewed.
            headers = {"Retry-After": str(exc.limit.limit.get_expiry())}
        return envelope(exc.code or 500, error, code, description, headers=headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _unavailable(exc: Exception):
        log.error("dependency unavailable: %s", type(exc).__name__)
        return envelope(
            503,
            "service_unavailable",
            "SRV_503",
            "A backing service is unavailable; retry shortly",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(DBAPIError)
    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return _unavailable(exc)
        log.exception("unhandled error")
        return envelope(500, "internal_error", "SRV_500", "An internal error occurred; it has been logged")
