"""A small client of the PolicyCortex REST API and scan stream, for the CLI and other callers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:8000"  # what `make up` binds
CLOSE_NORMAL = 1000  # the stream's close after a scan's end (shared.scans.stream, not imported: it needs the server)
STREAM_CLOSE_REASONS = {
    4401: "invalid API key",
    4403: "the API key lacks the 'read' scope",
    4404: "scan not found",
    1011: "server error",
    1013: "too many streams on the server or for this tenant; retry shortly",
}


class ApiError(Exception):
    """A refused or failed call, with the envelope's code and a message fit for a terminal."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body


def envelope_message(status: int, body: Any) -> str:
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


NO_STATUS = 1005  # what a client reports when the connection ended without a close frame


def close_code(ws, closed) -> tuple[int, str | None]:
    """The server's close code and reason. simple-websocket's handshake takes one event from what
    it read, so a close frame that came in the same read as the 101 answer (a refusal right after
    the upgrade, such as 1013) stays in wsproto's buffer and its reader sees only the hang-up
    (1005): read the frame from there."""
    if closed.reason == NO_STATUS:
        from wsproto.events import CloseConnection

        for event in ws.ws.events():
            if isinstance(event, CloseConnection):
                return event.code, event.reason
    return closed.reason, closed.message


class PolicyCortexClient:
    """Calls the API with one tenant's key; every error becomes an ApiError."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.http = session or requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PolicyCortexClient:
        """From POLICYCORTEX_URL (default the local API) and POLICYCORTEX_API_KEY."""
        env = os.environ if env is None else env
        key = env.get("POLICYCORTEX_API_KEY", "").strip()
        if not key:
            raise ApiError("POLICYCORTEX_API_KEY is not set: export an API key (policycortex apikey create)")
        return cls(env.get("POLICYCORTEX_URL", "").strip() or DEFAULT_URL, key)

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(f"cannot reach {self.base_url}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.ok:
            code = body.get("error_code") if isinstance(body, dict) else None
            raise ApiError(
                envelope_message(response.status_code, body), status=response.status_code, code=code, body=body
            )
        if body is None:
            raise ApiError(f"HTTP {response.status_code}: the answer is not JSON", status=response.status_code)
        return body

    def trigger_scan(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/scans", json=body)

    def list_scans(self, **filters: Any) -> dict[str, Any]:
        return self.request("GET", "/v1/scans", params={k: v for k, v in filters.items() if v is not None})

    def get_scan(self, scan_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/scans/{scan_id}")

    def cancel_scan(self, scan_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/scans/{scan_id}")

    def stream_url(self, scan_id: str) -> str:
        base = self.base_url
        base = "wss://" + base[len("https://") :] if base.startswith("https://") else "ws://" + base.split("://")[-1]
        return f"{base}/v1/scans/{scan_id}/stream"

    def stream(self, scan_id: str, *, ping_seconds: float = 30) -> Iterator[dict[str, Any]]:
        """The scan's stream messages (a snapshot first) until the server closes it after the end;
        any other close is an ApiError. Pings from our side notice a server that vanished silently."""
        from simple_websocket import Client, ConnectionClosed
        from simple_websocket import ConnectionError as HandshakeError

        try:
            ws = Client.connect(
                self.stream_url(scan_id),
                headers={"Authorization": f"Bearer {self.api_key}"},
                ping_interval=ping_seconds,
            )
        except HandshakeError as exc:  # an HTTP answer instead of the upgrade: not worth retrying
            message = f"the server refused the stream at {self.stream_url(scan_id)} (HTTP {exc.status_code})"
            raise ApiError(message, status=exc.status_code, code="WS_REFUSED") from None
        except OSError as exc:
            message = f"cannot open the stream at {self.stream_url(scan_id)}: {type(exc).__name__}"
            raise ApiError(message, code="WS_CONNECT") from None
        try:
            while True:
                data = ws.receive()
                if data is not None:
                    yield json.loads(data)
        except ConnectionClosed as closed:
            code, message = close_code(ws, closed)
            if code != CLOSE_NORMAL:
                reason = STREAM_CLOSE_REASONS.get(code) or message or "closed unexpectedly"
                raise ApiError(f"stream closed ({code}): {reason}", code=f"WS_{code}") from None
        finally:
            if ws.connected:
                ws.close()
