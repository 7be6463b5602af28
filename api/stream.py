"""GET /v1/scans/<id>/stream: a scan's live progress over a websocket (flask-sock)."""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, request
from flask_sock import Sock
from redis import BlockingConnectionPool, Redis
from simple_websocket import ConnectionClosed, Server

from api.auth import presented_key
from api.context import base_url, services
from shared.platform.errors import NotFound
from shared.platform.settings import Settings
from shared.scans import stream
from shared.tenants.apikeys import authenticate

log = logging.getLogger(__name__)

sock = Sock()
bp = Blueprint("stream", __name__, url_prefix="/v1/scans")

PING_SECONDS = 25  # below the 30-60 s idle timeouts of common proxies and load balancers
RECHECK_SECONDS = 15.0  # a quiet stream re-reads its scan this often (a lost `completed` event)
MAX_CLIENT_MESSAGE = 4096  # the stream is one-way: anything larger from a client closes it
CLOSE_WAIT_SECONDS = 2.0  # how long a client gets to answer our close frame and hang up
# Streams one process serves at once: below gunicorn's --threads (256 in `make up` and compose), so
# that 32 threads always remain for REST calls.
MAX_STREAMS = 224


@dataclass
class StreamExtension:
    """The stream's state in one process."""

    # Each stream holds a Redis connection for its subscription, so streams get a pool of their own:
    # with the shared one (redis-py's default: 100 connections) they would exhaust it and starve REST.
    redis: Redis
    slots: stream.StreamSlots


def init_app(
    app: Flask, settings: Settings, *, max_streams: int = MAX_STREAMS, ping_seconds: float = PING_SECONDS
) -> None:
    """Bind the extension and the route; the factory calls this once."""
    app.extensions["policycortex_stream"] = StreamExtension(
        redis=Redis(
            connection_pool=BlockingConnectionPool.from_url(
                settings.redis_url,
                # One connection per subscription and a few for short calls, which wait for one
                # (`timeout`) rather than fail when every stream reads its counters at once.
                max_connections=max_streams + 16,
                timeout=10,
                socket_timeout=10,
                socket_connect_timeout=5,
                health_check_interval=30,
            )
        ),
        slots=stream.StreamSlots(max_streams),
    )
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
    extension: StreamExtension = current_app.extensions["policycortex_stream"]
    if not extension.slots.acquire():
        _close(ws, stream.CLOSE_TRY_AGAIN_LATER, "Too many streams on this server; retry shortly")
        return
    try:
        code, reason = _serve(ws, extension, scan_id)
    finally:
        extension.slots.release()
    _close(ws, code, reason)


def _serve(ws: Server, extension: StreamExtension, scan_id: str) -> tuple[int, str]:
    """Authenticate, then relay the scan's feed; the close code and reason to end with."""
    svc = services()
    key = presented_key() or stream.key_from_subprotocols(request.headers.get("Sec-WebSocket-Protocol"))
    try:
        with svc.db.session() as session:
            principal = authenticate(session, key) if key else None
        if principal is None:
            return stream.CLOSE_BAD_KEY, "A valid API key is required"
        if not {"read", "admin"} & principal.scopes:
            return stream.CLOSE_FORBIDDEN, "The API key lacks the 'read' scope"
        base = base_url()
        feed = stream.ScanFeed(
            extension.redis,
            scan_id,
            lambda: stream.load_view(svc, extension.redis, principal.tenant_id, scan_id, base),
            recheck_seconds=current_app.config["STREAM_RECHECK_SECONDS"],
        )
        with feed:
            for message in feed.messages(lambda: _client_open(ws)):
                ws.send(json.dumps(message, default=str))
    except ConnectionClosed:
        pass  # the client left; leaving the `with` released the subscription
    except NotFound:
        return stream.CLOSE_NOT_FOUND, f"Scan {scan_id} does not exist"
    except Exception:
        log.exception("scan stream failed", extra={"scan_id": scan_id})
        return stream.CLOSE_SERVER_ERROR, "Internal error; reconnect for a fresh snapshot"
    return stream.CLOSE_NORMAL, "Scan finished"


def _client_open(ws: Server) -> bool:
    """Discard what the client sends (nothing is expected) and say whether it is still connected."""
    try:
        while ws.receive(timeout=0) is not None:
            pass
    except ConnectionClosed:
        return False
    return ws.connected


def _close(ws: Server, code: int, reason: str) -> None:
    """Send the close frame, wait for the client to hang up, and hang up ourselves if it does not.
    The waiting happens here, in this stream's own thread: gunicorn's gthread worker lingers on a
    finished connection until the peer hangs up, in the loop that accepts every other connection."""
    try:
        ws.close(code, reason)
    except ConnectionClosed:
        pass  # already gone
    ws.thread.join(CLOSE_WAIT_SECONDS)  # the socket's reader ends when the client hangs up
    if ws.thread.is_alive():
        try:
            ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # closed meanwhile
