"""GET /v1/scans/<id>/stream: a scan's live progress over a websocket (flask-sock)."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Flask, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server

from api.auth import presented_key
from api.context import base_url, services
from shared import stream
from shared.apikeys import authenticate
from shared.errors import NotFound

log = logging.getLogger(__name__)

sock = Sock()
bp = Blueprint("stream", __name__, url_prefix="/v1/scans")

PING_SECONDS = 25  # below the 30-60 s idle timeouts of common proxies and load balancers
RECHECK_SECONDS = 15.0  # a quiet stream re-reads its scan this often (a lost `completed` event)
MAX_CLIENT_MESSAGE = 4096  # the stream is one-way: anything larger from a client closes it


def init_app(app: Flask, *, ping_seconds: float = PING_SECONDS) -> None:
    """Bind the extension and the route; the factory calls this once."""
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "ping_interval": ping_seconds,
            "subprotocols": [stream.BEARER_PROTOCOL],
            "max_message_size": MAX_CLIENT_MESSAGE,
        },
    )
    app.config.setdefault("STREAM_RECHECK_SECONDS", RECHECK_SECONDS)
    sock.init_app(app)
    app.register_blueprint(bp)


# The endpoint name ends in `_public` so the generic /v1 hook of api/auth.py skips it: its 401 would be
# an HTTP answer to the upgrade, which a browser reports only as "connection failed". The key is
# checked here instead, after the upgrade, and a refusal is a close code the client can read.
@sock.route("/<scan_id>/stream", bp=bp, endpoint="scan_stream_public")
def scan_stream(ws: Server, scan_id: str) -> None:
    svc = services()
    key = presented_key() or stream.key_from_subprotocols(request.headers.get("Sec-WebSocket-Protocol"))
    try:
        with svc.db.session() as session:
            principal = authenticate(session, key) if key else None
        if principal is None:
            _close(ws, stream.CLOSE_BAD_KEY, "A valid API key is required")
            return
        if not {"read", "admin"} & principal.scopes:
            _close(ws, stream.CLOSE_FORBIDDEN, "The API key lacks the 'read' scope")
            return
        base = base_url()
        feed = stream.ScanFeed(
            svc.redis,
            scan_id,
            lambda: stream.load_view(svc, principal.tenant_id, scan_id, base),
            recheck_seconds=current_app.config["STREAM_RECHECK_SECONDS"],
        )
        with feed:
            for message in feed.messages(lambda: _client_open(ws)):
                ws.send(json.dumps(message, default=str))
    except ConnectionClosed:
        return  # the client left; leaving the `with` released the subscription
    except NotFound:
        _close(ws, stream.CLOSE_NOT_FOUND, f"Scan {scan_id} does not exist")
        return
    except Exception:
        log.exception("scan stream failed", extra={"scan_id": scan_id})
        _close(ws, stream.CLOSE_SERVER_ERROR, "Internal error; reconnect for a fresh snapshot")
        return
    _close(ws, stream.CLOSE_NORMAL, "Scan finished")


def _client_open(ws: Server) -> bool:
    """Discard what the client sends (nothing is expected) and say whether it is still connected."""
    try:
        while ws.receive(timeout=0) is not None:
            pass
    except ConnectionClosed:
        return False
    return ws.connected


def _close(ws: Server, code: int, reason: str) -> None:
    try:
        ws.close(code, reason)
    except ConnectionClosed:
        pass  # already gone
