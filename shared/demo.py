"""`policycortex demo`: a real scan end to end. Starts a moto server seeded with a small insecure
AWS estate, the API under gunicorn and a Celery worker; creates a tenant, key and account; then acts
as a REST caller would: triggers a scan, follows it, prints the result, and stops what it started."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from shared.apikeys import create_key
from shared.context import Services
from shared.estates import DEMO_CREDENTIALS, seed_demo_estate
from shared.settings import Settings
from shared.tenants import create_tenant

REGIONS = ("us-east-1", "eu-west-1")
TERMINAL = ("completed", "failed", "cancelled", "timed_out")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def _start(stack: ExitStack, name: str, command: list[str], log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"demo-{name}.log", "w")  # noqa: SIM115 - closed by the stack
    stack.callback(log.close)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())

    def stop():
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)
    return process


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def run_demo(settings: Settings, *, keep_running: bool = False) -> int:
    from moto.server import ThreadedMotoServer

    bin_dir = Path(sys.executable).parent
    log_dir = Path(".run")
    log_dir.mkdir(exist_ok=True)
    with ExitStack() as stack:
        moto_port, api_port = _free_port(), _free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        stack.callback(moto.stop)
        endpoint = f"http://127.0.0.1:{moto_port}"
        expected = seed_demo_estate(endpoint, REGIONS)
        _say(f"moto server on {endpoint} seeded with an insecure estate ({len(expected)} known violations)")

        worker = _start(
            stack,
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "workers.main",
                "worker",
                "-c",
                "2",
                "-Q",
                "scans,shards,notifications,housekeeping",
                "--loglevel",
                "WARNING",
                "-n",
                f"demo-{os.getpid()}@%h",
            ],
            log_dir,
        )
        api = _start(
            stack,
            "api",
            [
                str(bin_dir / "gunicorn"),
                "--bind",
                f"127.0.0.1:{api_port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "api.wsgi:app",
            ],
            log_dir,
        )
        base = f"http://127.0.0.1:{api_port}"
        _wait_http(f"{base}/healthz", api)
        _say(f"API (gunicorn) on {base}, Celery worker pid {worker.pid}; logs in {log_dir}/demo-*.log")

        svc = Services(settings)
        with svc.db.session() as session:
            tenant = create_tenant(session, settings, f"demo-{int(time.time())}")
            _, key = create_key(session, tenant, name="demo")
        headers = {"Authorization": f"Bearer {key}"}
        _say(f"tenant {tenant.name} with API key {key[:12]}...")

        account = requests.post(
            f"{base}/v1/accounts",
            headers=headers,
            timeout=30,
            json={
                "provider": "aws",
                "name": "demo-aws",
                "environment": "production",
                "regions": list(REGIONS),
                "credentials": DEMO_CREDENTIALS,
                "endpoint_url": endpoint,
            },
        )
        account.raise_for_status()
        _say(f"POST /v1/accounts -> {account.status_code} {account.json()['id']}")

        body = {
            "name": "Production Full Compliance Scan",
            "scan_type": "full",
            "environment": "production",
            "cloud_providers": ["aws"],
            "frameworks": ["soc2", "hipaa", "iso27001"],
            "execution": {"immediate": True, "parallel_execution": True, "timeout": "10m"},
        }
        created = requests.post(f"{base}/v1/scans", headers=headers, json=body, timeout=30)
        _say(f"POST /v1/scans -> {created.status_code}")
        print(json.dumps(created.json(), indent=2))
        scan_id = created.json()["id"]
        deadline = time.monotonic() + 300
        while True:
            scan = requests.get(f"{base}/v1/scans/{scan_id}", headers=headers, timeout=30).json()
            progress = scan["progress"]
            _say(
                f"{scan['status']}: {progress['scanned_resources']}/{progress['total_resources']} "
                f"resources ({progress['percentage']}%)"
            )
            if scan["status"] in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(1)
        _say(f"GET /v1/scans/{scan_id}")
        print(json.dumps(scan, indent=2))
        listing = requests.get(f"{base}/v1/scans", headers=headers, params={"limit": 20}, timeout=30).json()
        _say("GET /v1/scans?limit=20")
        print(json.dumps(listing, indent=2))
        found = scan["results"]["total_violations"]
        ok = scan["status"] == "completed" and found == len(expected)
        _say(
            f"scan {scan['status']}: {found} violations found, {len(expected)} expected -> {'OK' if ok else 'MISMATCH'}"
        )
        if keep_running:
            _say(f"leaving everything running; API {base}, key {key}. Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0 if ok else 1
