"""The API as `make up` and compose serve it: the real gunicorn with api/gunicorn_conf.py (the gevent
worker of api/serving.py) in a subprocess. Slow and idle connections are closed, REST calls and streams
are served while hundreds of slow connections are open, and each instance has its own control socket."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from api.gunicorn_conf import control_socket_path
from tests.api.test_inventory import bucket
from tests.api.test_stream import connect, make_scan, receive
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SLOW_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: test\r\nUser-Agent: slow\r\n"
MARGIN = 10  # seconds beyond a deadline before a test calls it missed: a loaded machine is slow


@dataclass
class Api:
    url: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


@contextmanager
def gunicorn(settings, tmp_path: Path, name: str = "api", **env: str) -> Iterator[Api]:
    """One worker process of the API, started as `make up` starts it (its bind and worker count aside)."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    command = [str(BIN / "gunicorn"), "-c", "python:api.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--error-logfile", str(log), "api.wsgi:app"]
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
        **env,
    }
    process = subprocess.Popen(command, cwd=REPO, env=environment)
    api = Api(f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"gunicorn exited:\n{log.read_text() if log.exists() else ''}"
            try:
                requests.get(f"{api.url}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):  # still importing the app
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)  # open streams hold a worker for gunicorn's graceful timeout
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class SlowClients:
    """Connections that send a request line and then one header line every `every` seconds, never the
    blank line that ends the headers. Records when the server closes each one."""

    def __init__(self, port: int, count: int, every: float = 1.0):
        self.started = time.monotonic()
        self.socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(SLOW_REQUEST)
            self.socks.append(sock)
        self.closed_after: dict[socket.socket, float] = {}
        self.every = every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stopping.wait(self.every):
            for sock in self.socks:
                if sock not in self.closed_after:
                    try:
                        sock.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        self.closed_after.setdefault(sock, time.monotonic() - self.started)

    def open_count(self) -> int:
        """Connections the server has not closed (a closed one reads as end of file)."""
        readable, _, _ = select.select([s for s in self.socks if s not in self.closed_after], [], [], 0)
        for sock in readable:
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            assert data == b"", f"the server answered a request it never got whole: {data[:80]!r}"
            self.closed_after.setdefault(sock, time.monotonic() - self.started)
        return len(self.socks) - len(self.closed_after)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        for sock in self.socks:
            sock.close()


@pytest.fixture(scope="module")
def patient_api(settings, database, tmp_path_factory) -> Iterator[Api]:
    """Slow clients stay open for the length of a test: the header deadline is far away."""
    with gunicorn(settings, tmp_path_factory.mktemp("patient"), POLICYCORTEX_HEADER_TIMEOUT="120") as api:
        yield api


@pytest.fixture(scope="module")
def strict_api(settings, database, tmp_path_factory) -> Iterator[Api]:
    with gunicorn(settings, tmp_path_factory.mktemp("strict"), POLICYCORTEX_HEADER_TIMEOUT="2") as api:
        yield api


def test_connections_that_never_finish_their_headers_are_closed(strict_api):
    slow = SlowClients(strict_api.port, 20, every=0.5)
    try:
        deadline = time.monotonic() + 2 + MARGIN
        while slow.open_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert slow.open_count() == 0, "slow connections still open past the header timeout"
        assert max(slow.closed_after.values()) < 2 + MARGIN
    finally:
        slow.close()


def test_idle_keep_alive_connections_are_closed(strict_api):
    with socket.create_connection(("127.0.0.1", strict_api.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        while sock.recv(65536):  # the rest of the answer, then the end of file when the server hangs up
            pass
        assert time.monotonic() - started < 5 + MARGIN  # keepalive in api/gunicorn_conf.py


def test_rest_and_streams_are_served_while_200_slow_connections_are_open(patient_api, svc, make_tenant):
    tenant = make_tenant()
    scan_id = make_scan(svc, tenant)
    slow = SlowClients(patient_api.port, 200)
    try:
        answer = requests.get(f"{patient_api.url}/v1/scans", headers=tenant.headers, timeout=10)
        assert answer.status_code == 200 and "scans" in answer.json()
        ws = connect(patient_api.url, scan_id, tenant.key)
        snapshot = receive(ws, timeout=10)
        assert snapshot["type"] == "snapshot" and snapshot["scan"]["id"] == scan_id
        ws.close()
        assert slow.open_count() == 200  # all of them held open the whole time
    finally:
        slow.close()


def test_inventory_uploads_copy_under_the_gevent_worker(patient_api, make_tenant):
    """Bulk writes use COPY, which psycopg2 refuses in its cooperative mode unless run outside it."""
    tenant = make_tenant()
    account = requests.post(
        f"{patient_api.url}/v1/accounts",
        headers=tenant.headers,
        json={"provider": "hybrid", "name": "datacenter", "environment": "production"},
        timeout=10,
    ).json()
    body = {"resources": [bucket("vault-a", encrypted=True), bucket("vault-b", encrypted=False)]}
    answer = requests.post(
        f"{patient_api.url}/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json=body, timeout=30
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["created"] == 2
    listed = requests.get(f"{patient_api.url}/v1/resources", headers=tenant.headers, timeout=10).json()
    assert listed["pagination"]["total"] == 2


def test_readiness_pings_workers_through_the_broker(patient_api, worker):
    answer = requests.get(f"{patient_api.url}/readyz", timeout=30)
    assert answer.status_code == 200, answer.json()


def test_the_master_imports_nothing_the_worker_must_patch_first(patient_api):
    log = patient_api.log.read_text()
    assert "Using worker: api.serving.GeventWorker" in log
    assert "imported before gevent patched" not in log
    assert "MonkeyPatchWarning" not in log


def test_each_instance_has_its_own_control_socket(settings, database, tmp_path):
    # Without our setting both would take gunicorn's default, $XDG_RUNTIME_DIR/gunicorn.ctl.
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    with gunicorn(settings, tmp_path, "first", **env) as first, gunicorn(settings, tmp_path, "second", **env) as second:
        mine, theirs = (Path(control_socket_path(api.process.pid)) for api in (first, second))
        wait_for(lambda: mine.exists() and theirs.exists(), "both control sockets")
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(timeout=40)
        assert not mine.exists()  # the stopped instance removed its own socket
        assert theirs.exists()  # and only its own
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(theirs))  # still served
        assert not (runtime / "gunicorn.ctl").exists()
        assert not (tmp_path / ".gunicorn").exists()


def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not there within {timeout}s"
        time.sleep(0.1)
