"""How gunicorn serves the API: gevent greenlets instead of threads, so thousands of idle, slow or
streaming connections cost a greenlet each, plus a deadline on every request's headers, so that a
client that never finishes a request loses its connection instead of holding it open for ever.

api/gunicorn_conf.py selects `GeventWorker` for `make up`, compose and everything else started with
`-c python:api.gunicorn_conf`. The README's "Serving" section describes the design.

gunicorn's master imports this module and the config file, then forks workers, which patch the
standard library for gevent before they import the app. Whatever the master imported before that
keeps the unpatched names it took (`from time import sleep`, urllib3's `SSLContext`) and would block
a whole worker; so this module and api/gunicorn_conf.py import only the standard library, gunicorn,
gevent and psycopg2 at their top, and the worker logs a warning when that no longer holds."""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import gevent
import psycopg2
from gevent.local import local
from gevent.socket import wait_read, wait_write
from gunicorn.workers import ggevent
from psycopg2 import extensions

# Descriptors a worker needs beyond its connections: the database and Redis pools, log and metrics files.
SPARE_FILES = 512
# Libraries that must be imported after the worker patched the standard library (see above).
PATCH_FIRST = ("redis", "kombu", "celery", "sqlalchemy", "requests", "urllib3", "botocore", "flask")


class GeventWorker(ggevent.GeventWorker):
    """gunicorn's gevent worker (gunicorn's own HTTP parser, which flask-sock's websockets need), with
    two deadlines on reading a request's line and headers:

    - the first request of a connection must be complete `header_timeout` seconds after the accept
      (POLICYCORTEX_HEADER_TIMEOUT): a client sending a header line every few seconds is hung up on;
    - each later request on a kept-alive connection must be complete `--keep-alive` seconds after the
      previous answer, which bounds idle keep-alive connections as well.

    Only the headers are timed: once the app runs (a long report, a websocket stream) no deadline
    applies. psycopg2 is made cooperative in each worker (`cooperative_psycopg2`), so a query waits
    for PostgreSQL without holding up the worker's other greenlets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg.keepalive < 1:
            # gunicorn reads the one request of a connection without keep-alive outside any deadline.
            raise RuntimeError(f"{type(self).__name__} needs --keep-alive >= 1: it also bounds idle connections")
        self.header_timeout = 0  # read from the settings once the worker is patched
        self._connection = local()  # per connection greenlet: how many requests it has served

    def patch(self) -> None:
        early = sorted(name for name in PATCH_FIRST if name in sys.modules)
        if early:
            self.log.warning("imported before gevent patched the worker, so partly blocking: %s", ", ".join(early))
        super().patch()  # gevent's monkey.patch_all(), in the worker process only
        cooperative_psycopg2()
        from shared.platform.settings import Settings

        self.header_timeout = Settings.from_env().header_timeout

    def init_process(self) -> None:
        raise_open_files_limit(self.worker_connections + SPARE_FILES, self.log)
        super().init_process()  # patches, loads the app, then serves until told to stop

    def timeout_ctx(self) -> gevent.Timeout:
        """The deadline around reading one request's line and headers; when it passes, gunicorn sees
        no request and closes the connection."""
        served = getattr(self._connection, "served", 0)
        return gevent.Timeout(self.cfg.keepalive if served else self.header_timeout, False)

    def handle(self, listener, client, addr) -> None:
        self._connection.served = 0
        super().handle(listener, client, addr)

    def handle_request(self, listener_name, req, sock, addr):
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            self._connection.served += 1


def raise_open_files_limit(wanted: int, log) -> None:
    """Raise the soft limit on open files towards `wanted` (capped by the hard limit): shells often
    start processes with 1024, which a thousand connections would exhaust."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning("open files limited to %d (hard limit); %d wanted for the worker's connections", target, wanted)


# --- psycopg2 under gevent ------------------------------------------------------------------------


def cooperative_psycopg2() -> None:
    """Make psycopg2 wait for PostgreSQL through gevent (its documented wait-callback hook), and let
    COPY run outside that mode, which psycopg2 refuses in it."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    extensions.set_wait_callback(wait_callback)
    if not event.contains(Engine, "connect", _copy_outside_green_mode):
        event.listen(Engine, "connect", _copy_outside_green_mode)


def wait_callback(conn, timeout: float | None = None) -> None:
    """psycopg2's wait callback: poll the connection and yield to other greenlets while it waits.
    libpq ignores `connect_timeout` for connections made this way, so it is applied here."""
    if timeout is None and conn.status == extensions.STATUS_SETUP:
        timeout = _connect_timeout(conn)
    try:
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                wait_read(conn.fileno(), timeout=timeout, timeout_exc=_timed_out)
            elif state == extensions.POLL_WRITE:
                wait_write(conn.fileno(), timeout=timeout, timeout_exc=_timed_out)
            else:
                raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")
    except _ConnectTimeout:
        conn.close()
        raise psycopg2.OperationalError("timeout expired") from None


class _ConnectTimeout(Exception):
    pass


_timed_out = _ConnectTimeout()


def _connect_timeout(conn) -> float | None:
    seconds = extensions.parse_dsn(conn.dsn).get("connect_timeout")
    return float(seconds) if seconds and float(seconds) > 0 else None


class _CopyCursor(extensions.cursor):
    """A cursor whose COPY runs without the wait callback (bulk writes of inventory uploads): it then
    blocks this worker for its duration, as any CPU-bound work does, but it is no longer refused."""

    def copy_expert(self, *args, **kwargs):
        with _blocking():
            return super().copy_expert(*args, **kwargs)

    def copy_from(self, *args, **kwargs):
        with _blocking():
            return super().copy_from(*args, **kwargs)

    def copy_to(self, *args, **kwargs):
        with _blocking():
            return super().copy_to(*args, **kwargs)


@contextmanager
def _blocking() -> Iterator[None]:
    extensions.set_wait_callback(None)
    try:
        yield
    finally:
        extensions.set_wait_callback(wait_callback)


def _copy_outside_green_mode(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, extensions.connection) and dbapi_connection.cursor_factory is None:
        dbapi_connection.cursor_factory = _CopyCursor
