"""Scan stream latency, from an event's publish on `scan:<id>` to its arrival at websocket clients (p50,
p99) with 1, 50 and 200 clients on one scan; a tenant at its stream cap while another connects; and
the peak number of streams one API process holds.

The API runs as in production: gunicorn with api/gunicorn_conf.py (the gevent worker of api/serving.py),
one worker process. The clients and the publisher share this process, so one clock times every event.

    make migrate && python -m bench.stream_latency [--events 100] [--tenant-cap 250] [--peak-tenants 9]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import requests
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage
from wsproto.utilities import LocalProtocolError

from devkit.devstack import free_port, say
from shared.platform.context import Services
from shared.platform.settings import Settings
from shared.scans.progress import channel

LOG_DIR = Path(".run")


class Target(NamedTuple):
    host: str
    port: int
    path: str
    key: str
    worker_pid: int
    scan_id: str


def api_app():
    """The API as gunicorn serves it here (`bench.stream_latency:api_app()`), with the stream bound
    whether or not the app factory binds it already."""
    from api.app import create_app
    from api.stream import init_app
    from shared.platform.logs import configure_logging

    settings = Settings.from_env()
    configure_logging("WARNING")
    app = create_app(settings)
    if "stream" not in app.blueprints:
        init_app(app, settings)
    return app


@contextmanager
def gunicorn(tenant_cap: int) -> Iterator[tuple[int, int]]:
    """One worker process as `make up` runs it; yields its port and the worker's pid."""
    port = free_port()
    LOG_DIR.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "python:api.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "bench.stream_latency:api_app()",
    ]
    env = {
        **os.environ,
        "POLICYCORTEX_MAX_STREAMS_PER_TENANT": str(tenant_cap),
        "POLICYCORTEX_LOG_LEVEL": "WARNING",
        # Thousands of handshakes from one address and key within a minute: not what is measured here.
        "POLICYCORTEX_RATE_LIMIT": "1000000/minute",
    }
    with open(LOG_DIR / "stream-bench-api.log", "w") as log:
        master = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if master.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {LOG_DIR / 'stream-bench-api.log'}")
                try:
                    if requests.get(f"{url}/healthz", timeout=2).ok:
                        break
                except (requests.ConnectionError, requests.Timeout):  # still importing the app
                    time.sleep(0.2)
            children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
            yield port, int(children[0])
        finally:
            master.terminate()  # streams still open would hold it for gunicorn's graceful timeout (30 s)
            try:
                master.wait(45)
            except subprocess.TimeoutExpired:
                master.kill()


def proc_status(pid: int) -> dict[str, int]:
    """Threads and resident memory (KiB) of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"threads": int(fields["Threads"]), "rss_kib": int(fields["VmRSS"].split()[0])}


class Fleet:
    """Stream clients read by one thread with a selector: a thread per client would make this process,
    not the server, the bottleneck. Records when each bench event arrives, and how late."""

    def __init__(self, target: Target, count: int, *, handshake_timeout: float = 30):
        self.target = target
        self.handshake_timeout = handshake_timeout
        self.snapshots: list[float] = []
        self.latencies: list[float] = []
        self.closes: list[int] = []
        self.selector = selectors.DefaultSelector()
        self.stopping = threading.Event()
        with ThreadPoolExecutor(32) as pool:
            opened = list(pool.map(lambda _: self._open(), range(count)))
        self.connections = [c for c in opened if c is not None]
        for sock, conn in self.connections:
            if sock.fileno() != -1:  # not closed by the server during the handshake already
                sock.setblocking(False)
                self.selector.register(sock, selectors.EVENT_READ, (conn, []))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _open(self) -> tuple[socket.socket, WSConnection] | None:
        """Handshake; None when the server did not take the stream within the timeout, or hung up."""
        host, port, path, key, *_ = self.target
        sock = socket.create_connection((host, port), timeout=self.handshake_timeout)
        conn = WSConnection(ConnectionType.CLIENT)
        headers = [("Authorization", f"Bearer {key}")]
        sock.sendall(conn.send(Request(host=host, target=path, extra_headers=headers)))
        try:
            while True:
                data = sock.recv(65536)
                if not data:  # hung up before answering
                    sock.close()
                    return None
                conn.receive_data(data)
                events = list(conn.events())
                if any(isinstance(event, AcceptConnection) for event in events):
                    self._handle(sock, conn, events, [], time.perf_counter())
                    return sock, conn
        except TimeoutError:
            sock.close()
            return None

    def _handle(self, sock: socket.socket, conn: WSConnection, events, parts: list[str], arrived: float) -> None:
        for event in events:
            if isinstance(event, TextMessage):
                parts.append(event.data)
                if not event.message_finished:
                    continue
                message = json.loads("".join(parts))
                parts.clear()
                if message["type"] == "snapshot":
                    self.snapshots.append(arrived)
                elif "bench_sent" in message:
                    self.latencies.append(arrived - message["bench_sent"])
            elif isinstance(event, Ping):
                sock.send(conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closes.append(event.code)
                sock.close()  # hang up as a client should once the server has closed

    def _read(self) -> None:
        while not self.stopping.is_set():
            for selected, _ in self.selector.select(timeout=0.1):
                conn, parts = selected.data
                try:
                    data = selected.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                arrived = time.perf_counter()
                if not data:
                    self.selector.unregister(selected.fileobj)
                    continue
                conn.receive_data(data)
                self._handle(selected.fileobj, conn, conn.events(), parts, arrived)
                if selected.fileobj.fileno() == -1:
                    self.selector.unregister(selected.fileobj)

    def close(self) -> None:
        self.stopping.set()
        self.reader.join(10)
        for sock, conn in self.connections:
            try:
                sock.setblocking(True)
                sock.sendall(conn.send(CloseConnection(code=1000)))
            except (OSError, LocalProtocolError):
                pass  # the server closed it first
            sock.close()
        self.selector.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def subscribers(svc: Services, scan_id: str) -> int:
    return dict(svc.redis.pubsub_numsub(channel(scan_id)))[channel(scan_id).encode()]


def measure(svc: Services, target: Target, scan_id: str, clients: int, events: int, gap: float) -> dict:
    fleet = Fleet(target, clients)
    wait(lambda: len(fleet.snapshots) >= clients, 60, "every snapshot")
    cpu_before = cpu_seconds(target.worker_pid)
    for index in range(events):
        event = {"type": "progress", "scan_id": scan_id, "shard_id": 1, "scanned": index, "shards_done": 0}
        svc.redis.publish(channel(scan_id), json.dumps({**event, "violations": {}, "bench_sent": time.perf_counter()}))
        time.sleep(gap)
    wait(lambda: len(fleet.latencies) >= clients * events, 120, "every event")
    server_cpu = cpu_seconds(target.worker_pid) - cpu_before
    fleet.close()
    wait(lambda: subscribers(svc, scan_id) == 0, 30, "every subscription released")
    samples = sorted(latency * 1000 for latency in fleet.latencies)
    quantiles = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "clients": clients,
        "samples": len(samples),
        "p50": quantiles[49],
        "p99": quantiles[98],
        "max": samples[-1],
        "cpu_us": 1e6 * server_cpu / len(samples),
    }


def answered(fleet: Fleet) -> bool:
    return len(fleet.snapshots) + len(fleet.closes) >= len(fleet.connections)


def held(fleet: Fleet) -> int:
    """Streams that got their snapshot and were not closed since."""
    return len(fleet.snapshots) - sum(1 for code in fleet.closes if code != 1013)


def rest_call(target: Target) -> str:
    """An authenticated GET /v1/scans, timed."""
    started = time.perf_counter()
    try:
        headers = {"Authorization": f"Bearer {target.key}"}
        status = requests.get(f"http://{target.host}:{target.port}/v1/scans", headers=headers, timeout=10).status_code
        return f"HTTP {status} in {1000 * (time.perf_counter() - started):.0f} ms"
    except requests.RequestException:
        return "no answer within 10 s"


def tenant_cap(svc: Services, greedy: Target, other: Target, cap: int, extra: int) -> dict:
    """One tenant opens `cap + extra` streams: `extra` of them are told to retry (1013), and another
    tenant's stream still connects."""
    fleet = Fleet(greedy, cap + extra, handshake_timeout=10)
    wait(lambda: answered(fleet), 60, "every answer")
    others = Fleet(other, 1, handshake_timeout=10)
    wait(lambda: answered(others), 30, "the other tenant's answer")
    result = {
        "attempted": cap + extra,
        "held": held(fleet),
        "refused": fleet.closes.count(1013),
        "other": "connected" if others.snapshots else f"refused ({others.closes})",
    }
    fleet.close()
    others.close()
    wait(lambda: subscribers(svc, greedy.scan_id) == 0, 30, "every subscription released")
    return result


def peak_streams(svc: Services, targets: list[Target], per_tenant: int) -> dict:
    """Tenants open `per_tenant` streams each, one tenant after the other, and count those held. Streams
    beyond the process's cap are closed with 1013 (retry later). A REST call is timed meanwhile."""
    pid = targets[0].worker_pid
    before = proc_status(pid)
    started = time.monotonic()
    fleets = []
    for target in targets:
        fleets.append(Fleet(target, per_tenant, handshake_timeout=10))
    wait(lambda: all(answered(fleet) for fleet in fleets), 120, "every answer")
    opened_in = time.monotonic() - started
    at_peak = proc_status(pid)
    holding = sum(held(fleet) for fleet in fleets)
    rest = rest_call(targets[0])
    attempts = per_tenant * len(targets)
    result = {
        "attempted": attempts,
        "held": holding,
        "refused": sum(fleet.closes.count(1013) for fleet in fleets),
        "unanswered": attempts - sum(len(fleet.connections) for fleet in fleets),
        "threads": (before["threads"], at_peak["threads"]),
        "rss_per_stream_kib": (at_peak["rss_kib"] - before["rss_kib"]) / max(holding, 1),
        "opened_in": opened_in,
        "rest": rest,
    }
    for fleet in fleets:
        fleet.close()
    return result


def make_scan(svc: Services, name: str) -> tuple[str, str]:
    """A tenant, its key and a running scan row that nothing but this bench publishes for."""
    from shared.platform.db import utcnow
    from shared.scans.models import Scan
    from shared.tenants.apikeys import create_key
    from shared.tenants.service import create_tenant

    with svc.db.session() as session:
        tenant = create_tenant(session, svc.settings, f"stream-bench-{name}-{time.time_ns()}")
        _, key = create_key(session, tenant, name="stream bench")
        scan = Scan(
            tenant_id=tenant.id,
            name="stream bench",
            scan_type="full",
            status="running",
            environment="bench",
            cloud_providers=["aws"],
            frameworks=[],
            policy_ids=[],
            account_ids=[],
            scope={"include_policies": [], "include_resources": [], "exclude_resources": []},
            execution={"immediate": True, "parallel_execution": True, "timeout": None},
            notifications={"on_completion": False, "on_failure": False, "channels": []},
            scope_key="stream-bench",
            started_at=utcnow(),
            shards_total=10,
            estimated_resources=10_000,
        )
        session.add(scan)
        session.flush()
        return key, scan.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100, help="events published per client count")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between two published events")
    parser.add_argument("--clients", default="1,50,200", help="client counts, comma separated")
    parser.add_argument("--tenant-cap", type=int, default=250, help="POLICYCORTEX_MAX_STREAMS_PER_TENANT of the API")
    parser.add_argument(
        "--peak-tenants", type=int, default=9, help="tenants opening --tenant-cap streams each for the peak (0: none)"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    if max(counts) > args.tenant_cap:
        parser.error("--tenant-cap must hold the largest client count: the clients are one tenant's")
    svc = Services(Settings.from_env())
    tenants = [make_scan(svc, str(index)) for index in range(args.peak_tenants + 2)]
    rows = []
    with gunicorn(args.tenant_cap) as (port, worker_pid):
        targets = [
            Target("127.0.0.1", port, f"/v1/scans/{scan_id}/stream", key, worker_pid, scan_id)
            for key, scan_id in tenants
        ]
        for clients in counts:
            say(f"{clients} clients, {args.events} events")
            rows.append(measure(svc, targets[0], targets[0].scan_id, clients, args.events, args.gap))
        say(f"tenant cap: one tenant opens {args.tenant_cap + 20} streams, then another tenant one")
        capped = tenant_cap(svc, targets[0], targets[1], args.tenant_cap, 20)
        if args.peak_tenants:
            say(f"peak: {args.peak_tenants} tenants open {args.tenant_cap} streams each")
            peak = peak_streams(svc, targets[2:], args.tenant_cap)
    print()
    print(
        "Stream latency, publish -> client: gunicorn with api/gunicorn_conf.py (gevent worker), one worker "
        f"process; {args.events} events {1000 * args.gap:.0f} ms apart on one scan"
    )
    print(f"{'clients':>8}{'messages':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'server CPU us/msg':>19}")
    for row in rows:
        print(
            f"{row['clients']:>8}{row['samples']:>10}{row['p50']:>9.2f}{row['p99']:>9.2f}{row['max']:>9.2f}"
            f"{row['cpu_us']:>19.0f}"
        )
    print(
        f"tenant cap {args.tenant_cap}: one tenant held {capped['held']} of {capped['attempted']} streams, "
        f"{capped['refused']} told to retry (1013); another tenant's stream meanwhile: {capped['other']}"
    )
    if not args.peak_tenants:
        return
    threads_before, threads_peak = peak["threads"]
    print(
        f"peak: {peak['held']} of {peak['attempted']} streams held at once by one API process "
        f"(opened in {peak['opened_in']:.0f} s), {peak['refused']} told to retry (1013), {peak['unanswered']} "
        f"not answered within 10 s; worker threads {threads_before} -> {threads_peak}, "
        f"{peak['rss_per_stream_kib']:.0f} KiB RSS per stream; GET /v1/scans meanwhile: {peak['rest']}"
    )


if __name__ == "__main__":
    main()
