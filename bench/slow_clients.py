"""REST latency and websocket streams while 1,000 slow clients hold connections to the API.

The API runs as `make up` runs it: gunicorn with api/gunicorn_conf.py (the gevent worker of
api/serving.py) and two worker processes, on a free port, with a tenant and key of its own. The bench
times an authenticated GET /v1/scans (p50, p99) from a few clients, then opens 1,000 slow connections:
each sends a request line and then one header line every few seconds, never the end of its headers.
Whenever the server closes one, another takes its place, so 1,000 stay open. Meanwhile it times the
same REST calls again and opens a websocket stream. It prints both sets of figures side by side, and
how many slow connections the server closed, and after how long.

    make migrate && python -m bench.slow_clients [--slow 1000] [--every 5] [--requests 400]
    python -m bench.slow_clients --worker-class gthread --threads 256   # the design it replaced
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests
from wsproto import ConnectionType, WSConnection
from wsproto.events import CloseConnection, Request, TextMessage

from bench.stream_latency import make_scan
from devkit.devstack import free_port, say
from shared.platform.context import Services
from shared.platform.settings import Settings

LOG = Path(".run") / "slow-clients-api.log"


@contextmanager
def api(worker_class: str | None, threads: int | None) -> Iterator[str]:
    """The API under gunicorn as `make up` starts it; yields its base URL."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", "python:api.gunicorn_conf"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2"]
    if worker_class:
        command += ["--worker-class", worker_class]
    if threads:
        command += ["--threads", str(threads)]
    command.append("api.wsgi:app")
    # One key sends every timed call: the per-key rate limit is not what this bench measures.
    env = {**os.environ, "POLICYCORTEX_RATE_LIMIT": "1000000/minute", "POLICYCORTEX_LOG_LEVEL": "WARNING"}
    LOG.parent.mkdir(exist_ok=True)
    with open(LOG, "w") as log:
        master = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if master.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {LOG}")
                try:
                    if requests.get(f"{url}/healthz", timeout=2).ok:
                        break
                except (requests.ConnectionError, requests.Timeout):  # still importing the app
                    time.sleep(0.2)
            yield url
        finally:
            master.terminate()
            try:
                master.wait(45)
            except subprocess.TimeoutExpired:
                master.kill()


def rest_latency(url: str, key: str, count: int, rate: float, clients: int) -> dict:
    """`count` authenticated GET /v1/scans at a steady `rate` per second (each sent on time by one of
    `clients` keep-alive clients), so the figures show interference rather than a saturated server."""
    headers = {"Authorization": f"Bearer {key}"}
    sessions = [requests.Session() for _ in range(clients)]
    free = list(sessions)
    started = time.perf_counter()

    def call(index: int) -> float | None:
        time.sleep(max(0.0, started + index / rate - time.perf_counter()))
        session = free.pop()
        try:
            sent = time.perf_counter()
            ok = session.get(f"{url}/v1/scans", headers=headers, timeout=10).status_code == 200
            return 1000 * (time.perf_counter() - sent) if ok else None
        except requests.RequestException:
            return None
        finally:
            free.append(session)

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(call, range(count)))
    for session in sessions:
        session.close()
    timings = sorted(t for t in results if t is not None)
    row = {"ok": len(timings), "failed": count - len(timings), "p50": float("nan"), "p99": float("nan")}
    if len(timings) >= 2:
        quantiles = statistics.quantiles(timings, n=100, method="inclusive")
        row.update(p50=quantiles[49], p99=quantiles[98])
    return row


def stream_connects(url: str, key: str, scan_id: str, timeout: float = 10) -> str:
    """Open the scan's websocket stream and wait for its snapshot, for at most `timeout` seconds."""
    host, port = url.removeprefix("http://").split(":")
    started = time.perf_counter()
    conn = WSConnection(ConnectionType.CLIENT)
    request = Request(
        host=host, target=f"/v1/scans/{scan_id}/stream", extra_headers=[("Authorization", f"Bearer {key}")]
    )
    parts: list[str] = []
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.sendall(conn.send(request))
            while time.perf_counter() - started < timeout:
                sock.settimeout(max(0.1, timeout - (time.perf_counter() - started)))
                data = sock.recv(65536)
                if not data:
                    return "closed by the server"
                conn.receive_data(data)
                for event in conn.events():
                    if isinstance(event, CloseConnection):
                        return f"closed with {event.code}"
                    if not isinstance(event, TextMessage):
                        continue
                    parts.append(event.data)
                    if event.message_finished and json.loads("".join(parts))["type"] == "snapshot":
                        return f"connected, snapshot in {1000 * (time.perf_counter() - started):.0f} ms"
    except OSError:
        pass
    return f"no snapshot within {timeout:g} s"


class SlowClients:
    """Keeps `count` slow connections open: each sends a request line, then one header line every
    `every` seconds; one the server closes is replaced. Records how long the server let each one live.
    Runs in a process of its own, so that its work does not hold up the timed calls of this one."""

    def __init__(self, url: str, count: int, every: float):
        host, port = url.removeprefix("http://").split(":")
        self.args = ((host, int(port)), count, every)
        self.stopping = multiprocessing.Event()
        self.open = multiprocessing.Value("i", 0)
        self.results, sender = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.Process(
            target=_keep_slow_connections, args=(*self.args, self.stopping, self.open, sender), daemon=True
        )

    def __enter__(self) -> SlowClients:
        self.process.start()
        deadline = time.monotonic() + 60
        while self.open.value < self.args[1] and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def stop(self) -> dict:
        """Stop, and return what happened: lifetimes of the closed ones, answers, refusals."""
        self.stopping.set()
        result = self.results.recv()
        self.process.join(30)
        return result

    def __exit__(self, *exc: object) -> None:
        if self.process.is_alive():
            self.process.kill()


def _keep_slow_connections(address, count, every, stopping, open_count, results) -> None:
    selector = selectors.DefaultSelector()
    opened_at: dict[socket.socket, float] = {}
    lifetimes: list[float] = []  # seconds from open to the server's hang-up
    answered = refused = 0  # answers to requests whose headers never ended (must stay 0); failed opens

    def add() -> None:
        nonlocal refused
        try:
            sock = socket.create_connection(address, timeout=5)
            sock.sendall(b"GET /v1/scans HTTP/1.1\r\nHost: bench\r\nUser-Agent: slow-client\r\n")
        except OSError:
            refused += 1
            return
        sock.setblocking(False)
        opened_at[sock] = time.monotonic()
        selector.register(sock, selectors.EVENT_READ)

    def closed(sock: socket.socket) -> None:
        lifetimes.append(time.monotonic() - opened_at.pop(sock))
        selector.unregister(sock)
        sock.close()

    next_line = time.monotonic() + every
    while not stopping.is_set():
        while len(opened_at) < count and not stopping.is_set():
            add()
        open_count.value = len(opened_at)
        for key, _ in selector.select(timeout=0.2):
            try:
                data = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            answered += bool(data)
            closed(key.fileobj)
        if time.monotonic() >= next_line:
            next_line += every
            for sock in list(opened_at):
                try:
                    sock.send(b"X-Slow: 1\r\n")
                except OSError:
                    closed(sock)
    results.send({"lifetimes": lifetimes, "answered": answered, "refused": refused, "open": len(opened_at)})
    for sock in opened_at:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=1000, help="slow connections kept open")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between two header lines of one")
    parser.add_argument("--requests", type=int, default=400, help="timed REST calls, before and during")
    parser.add_argument("--rate", type=float, default=20.0, help="REST calls per second")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive REST clients sending them")
    parser.add_argument("--hold", type=float, default=25.0, help="seconds the slow connections stay at least")
    parser.add_argument("--worker-class", help="override api/gunicorn_conf.py's worker class (to compare)")
    parser.add_argument("--threads", type=int, help="gthread threads, with --worker-class gthread")
    args = parser.parse_args()
    settings = Settings.from_env()
    key, scan_id = make_scan(Services(settings), "slow-clients")
    with api(args.worker_class, args.threads) as url:
        say(f"before: {args.requests} GET /v1/scans, {args.rate:g} a second")
        rest_latency(url, key, 40, 40.0, args.clients)  # warm the pools
        before = rest_latency(url, key, args.requests, args.rate, args.clients)
        stream_before = stream_connects(url, key, scan_id)
        say(f"opening {args.slow} slow connections (a header line every {args.every:g} s)")
        started = time.monotonic()
        with SlowClients(url, args.slow, args.every) as slow:
            opened_in = time.monotonic() - started
            open_during = slow.open.value
            say(f"during: {args.requests} GET /v1/scans while {open_during} slow connections are open")
            during = rest_latency(url, key, args.requests, args.rate, args.clients)
            stream_during = stream_connects(url, key, scan_id)
            time.sleep(max(0.0, args.hold - (time.monotonic() - started)))
            outcome = slow.stop()
    lifetimes = sorted(outcome["lifetimes"])
    opened = len(lifetimes) + outcome["open"]
    if args.worker_class:
        design = f"--worker-class {args.worker_class}" + (f" --threads {args.threads}" if args.threads else "")
    else:
        design = f"{gunicorn_worker_class()}, POLICYCORTEX_HEADER_TIMEOUT {settings.header_timeout} s"
    print()
    print(f"REST latency, GET /v1/scans ({args.requests} calls, {args.rate:g} a second); gunicorn, 2 workers, {design}")
    print(f"{'':<34}{'ok':>6}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}   websocket stream")
    for label, row, stream in (
        ("before", before, stream_before),
        (f"during {open_during} slow connections", during, stream_during),
    ):
        print(f"{label:<34}{row['ok']:>6}{row['failed']:>8}{row['p50']:>9.1f}{row['p99']:>9.1f}   {stream}")
    if lifetimes:
        median = statistics.median(lifetimes)
        closed = f"after {lifetimes[0]:.1f} s min / {median:.1f} s median / {lifetimes[-1]:.1f} s max"
    else:
        closed = "none"
    print(
        f"slow connections: {args.slow} kept open for {args.hold:g} s ({opened} opened, the first {args.slow} in "
        f"{opened_in:.1f} s, {outcome['refused']} refused); the server closed {len(lifetimes)}, {closed}; "
        f"{outcome['answered']} answered before their headers ended"
    )


def gunicorn_worker_class() -> str:
    from api import gunicorn_conf

    return gunicorn_conf.worker_class


if __name__ == "__main__":
    main()
