"""The API's error envelope as exceptions, one class per kind of refusal, each carrying the envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PolicyCortexError(Exception):
    """A refused or failed call. `str()` is one line fit for a terminal:
    `SCAN_001 invalid_scan_config: Scan configuration validation failed (cloud_providers: ...)`."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error: str | None = None,
        description: str | None = None,
        details: list[dict[str, Any]] | None = None,
        body: Any = None,
    ):
        self.status = status
        self.error_code = error_code
        self.error = error
        self.description = description
        self.details = details or []
        self.body = body
        super().__init__(message or envelope_message(status, body))

    @property
    def code(self) -> str | None:
        """The error code, under the name the CLI's first client used."""
        return self.error_code

    def field_messages(self) -> dict[str, str]:
        """`details` as {field: message}: which fields of the request were refused, and why."""
        return {str(d.get("field")): str(d.get("message")) for d in self.details}


class InvalidRequest(PolicyCortexError):
    """400 (and 413, 415, 422): the request was refused as it is; `details` names the fields."""


class Unauthorized(PolicyCortexError):
    """401: no API key, or an unknown, revoked or expired one."""


class Forbidden(PolicyCortexError):
    """403: the API key lacks the scope the operation needs."""


class NotFound(PolicyCortexError):
    """404: no such object for this tenant (another tenant's objects are not found either)."""


class Conflict(PolicyCortexError):
    """409: the object's state forbids it (SCAN_003: the scan already ended)."""


class Gone(PolicyCortexError):
    """410: retention deleted what was asked for (SCAN_004: a scan's violations)."""


class _RetryAfter(PolicyCortexError):
    @property
    def retry_after(self) -> int | None:
        """Seconds to wait, from the envelope or the Retry-After header."""
        value = self.body.get("retry_after") if isinstance(self.body, dict) else None
        if value is None:
            value = self.retry_after_header
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    retry_after_header: str | None = None


class RateLimited(_RetryAfter):
    """429: too many requests, or (SCAN_002) too many scans running or queued for the tenant."""


class ServerError(_RetryAfter):
    """5xx: the server failed; the error has been logged there."""


class Unavailable(ServerError):
    """503: a backing service is unavailable; retry after `retry_after` seconds."""


class ConnectionFailed(PolicyCortexError):
    """The server could not be reached, or the connection broke mid-answer (no status)."""


class StreamClosed(PolicyCortexError):
    """The scan stream closed other than at the scan's end; `close_code` is the WebSocket code
    and `error_code` is `WS_<close code>`."""

    def __init__(self, message: str, *, close_code: int, reason: str | None = None):
        super().__init__(message, error_code=f"WS_{close_code}")
        self.close_code = close_code
        self.reason = reason


# A close that says why is also the error an HTTP call would have raised: `except NotFound` catches
# an unknown scan whether it was asked for by GET or by the stream.
class StreamUnauthorized(StreamClosed, Unauthorized):
    """4401: the stream refused the API key."""


class StreamForbidden(StreamClosed, Forbidden):
    """4403: the API key lacks the 'read' scope."""


class StreamNotFound(StreamClosed, NotFound):
    """4404: no such scan for this tenant."""


class StreamUnavailable(StreamClosed, Unavailable):
    """1013: too many streams on the server or for the tenant; retry shortly."""


BY_CLOSE_CODE: dict[int, type[StreamClosed]] = {
    4401: StreamUnauthorized,
    4403: StreamForbidden,
    4404: StreamNotFound,
    1013: StreamUnavailable,
}


BY_STATUS: dict[int, type[PolicyCortexError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def envelope_message(status: int | None, body: Any) -> str:
    """`SCAN_001 invalid_scan_config: Scan configuration validation failed (cloud_providers: ...)`."""
    if not isinstance(body, dict) or "error_code" not in body:
        return f"HTTP {status}"
    message = f"{body['error_code']} {body.get('error', '')}: {body.get('error_description', '')}".strip()
    details = body.get("details") or []
    if details:
        message += " (" + "; ".join(f"{d.get('field')}: {d.get('message')}" for d in details) + ")"
    if "retry_after" in body:
        message += f"; retry after {body['retry_after']}s"
    return message


def error_for(status: int, body: Any, headers: Mapping[str, str] | None = None) -> PolicyCortexError:
    """The exception for an error answer: its class from the status, its fields from the envelope
    (a body that is not the envelope, such as a proxy's HTML page, still gives the status)."""
    cls = BY_STATUS.get(status) or (ServerError if status >= 500 else PolicyCortexError)
    envelope = body if isinstance(body, dict) else {}
    details = envelope.get("details")
    exc = cls(
        status=status,
        error_code=envelope.get("error_code"),
        error=envelope.get("error"),
        description=envelope.get("error_description"),
        details=details if isinstance(details, list) else None,
        body=body,
    )
    if isinstance(exc, _RetryAfter) and headers is not None:
        exc.retry_after_header = headers.get("Retry-After")
    return exc
