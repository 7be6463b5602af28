"""GET /v1/scans/<id>/stream: a scan's live progress over a websocket (flask-sock)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, request
from flask_sock import Sock
from redis import BlockingConnectionPool, Redis
from simple_websocket import ConnectionClosed, Server

from api.auth import presented_key
from api.context import base_url, services
from shared.platform.errors import NotFound
from shared.platform.settings import Settings
from shared.scans import stream, stream_limits
from shared.tenants.apikeys import authenticate

log = logging.getLogger(__name__)

sock = Sock()
bp = Blueprint("stream", __name__, url_prefix="/v1/scans")

PING_SECONDS = 25  # below the 30-60 s idle timeouts of common proxies and load balancers
RECHECK_SECONDS = 15.0  # a quiet stream re-reads its scan this often (a lost `completed` event)
MAX_CLIENT_MESSAGE = 4096  # the stream is one-way: anything larger from a client closes it
CLOSE_WAIT_SECONDS = 2.0  # how long a client gets to answer our close frame and hang up
# Streams one process serves at once: half the connections a gevent worker accepts
# (api/gunicorn_conf.py worker_connections), so the other half stays for REST calls and slow clients.
MAX_STREAMS = 2000
# The streams' own Redis connections: the one subscription of the process, and short calls (counters,
# tenant leases), which wait for a free connection rather than fail when a burst of streams starts.
STREAM_REDIS_CONNECTIONS = 64
REDIS_CLIENT_NAME = "policycortex-stream"  # what CLIENT LIST shows for them
# Streams reading the database at once in one process (authentication, snapshots, rechecks). A burst of
# streams (clients reconnecting after a deploy) would otherwise all wait for the pool's 30 connections at
# once, and those still waiting after its 5 s timeout would close with 1011. Streams take turns instead,
# and the rest of the pool stays free for REST calls.
STREAM_DB_TURNS = 10


@dataclass
class StreamExtension:
    """The stream's state in one process."""

    # Streams get a pool of their own: a burst of them must not drain the shared one and starve REST.
    redis: Redis
    channels: stream.ScanChannels  # one subscription for every stream of the process
    slots: stream_limits.StreamSlots  # this process's streams
    tenants: stream_limits.TenantStreams  # each tenant's streams, over every API process
    db_turns: threading.BoundedSemaphore  # streams reading the database at once


def init_app(
    app: Flask, settings: Settings, *, max_streams: int = MAX_STREAMS, ping_seconds: float = PING_SECONDS
) -> None:
    """Bind the extension and the route; the factory calls this once."""
    redis = Redis(
        connection_pool=BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=STREAM_REDIS_CONNECTIONS,
            client_name=REDIS_CLIENT_NAME,
            timeout=10,
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
    )
    app.extensions["policycortex_stream"] = StreamExtension(
        redis=redis,
        channels=stream.ScanChannels(redis),
        slots=stream_limits.StreamSlots(max_streams),
        tenants=stream_limits.TenantStreams(redis, settings.max_streams_per_tenant),
        db_turns=threading.BoundedSemaphore(STREAM_DB_TURNS),
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
    failures = current_app.extensions["policycortex_auth_failures"]
    if failures.exhausted() is not None:  # this address spent its budget of failed keys
        return stream.CLOSE_TRY_AGAIN_LATER, "Too many requests without a valid API key from this address"
    key = presented_key() or stream.key_from_subprotocols(request.headers.get("Sec-WebSocket-Protocol"))
    try:
        with extension.db_turns, svc.db.session() as session:
            principal = authenticate(session, key) if key else None
        if principal is None:
            failures.record()
            return stream.CLOSE_BAD_KEY, "A valid API key is required"
        if not {"read", "admin"} & principal.scopes:
            return stream.CLOSE_FORBIDDEN, "The API key lacks the 'read' scope"
        lease = extension.tenants.acquire(principal.tenant_id)
        if lease is None:
            return stream.CLOSE_TRY_AGAIN_LATER, "Too many streams for this tenant; close one or retry shortly"
        try:
            base = base_url()

            def load() -> stream.ScanView:
                with extension.db_turns:
                    return stream.load_view(svc, extension.redis, principal.tenant_id, scan_id, base)

            feed = stream.ScanFeed(
                extension.channels, scan_id, load, recheck_seconds=current_app.config["STREAM_RECHECK_SECONDS"]
            )

            def still_open() -> bool:
                lease.keep()
                return _client_open(ws)

            with feed:
                for message in feed.messages(still_open):
                    ws.send(json.dumps(message, default=str))
        finally:
            lease.release()
    except ConnectionClosed:
        pass  # the client left; leaving the `with` left the scan's channel
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
    """Send the close frame, wait for the client to hang up, and hang up ourselves if it does not:
    a client that never answers the close frame cannot keep its connection (and its greenlet)."""
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
