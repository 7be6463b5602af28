"""The scan stream (GET /v1/scans/<id>/stream, a WebSocket): its messages until the server closes
it after the scan's end; any other close is a StreamClosed carrying the close code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .errors import BY_CLOSE_CODE, ConnectionFailed, StreamClosed, error_for

CLOSE_NORMAL = 1000  # the server's close after a scan's end
NO_STATUS = 1005  # what a client reports when the connection ended without a close frame
STREAM_CLOSE_REASONS = {
    4401: "invalid API key",
    4403: "the API key lacks the 'read' scope",
    4404: "scan not found",
    1011: "server error",
    1013: "too many streams on the server or for this tenant; retry shortly",
}
# Closes worth reopening the stream after a pause (its snapshot picks up where it was): going away,
# no close frame, dropped, server error, restart, busy; and a server that could not be reached.
RETRYABLE = frozenset({"WS_CONNECT", "WS_1001", "WS_1005", "WS_1006", "WS_1011", "WS_1012", "WS_1013"})


def stream_url(base_url: str, scan_id: str) -> str:
    base = base_url.rstrip("/")
    base = "wss://" + base[len("https://") :] if base.startswith("https://") else "ws://" + base.split("://")[-1]
    return f"{base}/v1/scans/{scan_id}/stream"


def close_code(ws: Any, closed: Any) -> tuple[int, str | None]:
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


def messages(url: str, headers: dict[str, str], *, ping_seconds: float = 30) -> Iterator[dict[str, Any]]:
    """The stream's messages (a snapshot first) until a normal close. Pings from our side notice a
    server that vanished silently."""
    from simple_websocket import Client, ConnectionClosed
    from simple_websocket import ConnectionError as HandshakeError

    try:
        ws = Client.connect(url, headers=headers, ping_interval=ping_seconds)
    except HandshakeError as exc:  # an HTTP answer instead of the upgrade: not worth retrying
        refused = error_for(exc.status_code or 0, None)
        refused.args = (f"the server refused the stream at {url} (HTTP {exc.status_code})",)
        refused.error_code = "WS_REFUSED"
        raise refused from None
    except OSError as exc:
        message = f"cannot open the stream at {url}: {type(exc).__name__}"
        raise ConnectionFailed(message, error_code="WS_CONNECT") from None
    try:
        while True:
            data = ws.receive()
            if data is not None:
                yield json.loads(data)
    except ConnectionClosed as closed:
        code, message = close_code(ws, closed)
        if code != CLOSE_NORMAL:
            reason = STREAM_CLOSE_REASONS.get(code) or message or "closed unexpectedly"
            cls = BY_CLOSE_CODE.get(code, StreamClosed)
            raise cls(f"stream closed ({code}): {reason}", close_code=code, reason=message) from None
    finally:
        if ws.connected:
            ws.close()
