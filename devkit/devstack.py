"""A local stack for the demo and the benches: a moto server, the API under gunicorn and Celery
workers as real processes, plus a tenant and API key to call the API with."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from shared.platform.context import Services
from shared.platform.settings import Settings
from shared.tenants.apikeys import create_key
from shared.tenants.service import create_tenant

QUEUES = "scans,shards,notifications,housekeeping"
TERMINAL = ("completed", "failed", "cancelled", "timed_out")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


class DevStack(ExitStack):
    """Everything is stopped when the `with` block ends, in reverse order of starting."""

    def __init__(self, settings: Settings, *, log_dir: Path = Path(".run"), worker_processes: int = 2):
        super().__init__()
        self.settings = settings
        self.log_dir = log_dir
        self.worker_processes = worker_processes
        self.bin = Path(sys.executable).parent
        self.moto_url = self.api_url = ""
        self.processes: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> DevStack:
        super().__enter__()
        self.log_dir.mkdir(exist_ok=True)
        return self

    def start_moto(self) -> str:
        """moto, with the local IAM Access Analyzer moto lacks (devkit.fakes.local_aws)."""
        from devkit.fakes.local_aws import LocalAws

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log is noise here
        server = LocalAws().start()
        self.callback(server.stop)
        self.moto_url = server.url
        return self.moto_url

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed by the stack
        self.callback(log.close)
        # The stack's clouds (moto, the Azure and GCP fakes) are loopback servers, which the outbound
        # guard refuses unless the operator allow-lists them.
        env = {"POLICYCORTEX_OUTBOUND_ALLOWLIST": "127.0.0.1,localhost", **os.environ}
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

        def stop():
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

        self.callback(stop)
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        return self._start(
            name,
            [
                str(self.bin / "celery"),
                "-A",
                "workers.main",
                "worker",
                "-c",
                str(self.worker_processes),
                "-Q",
                QUEUES,
                "--loglevel",
                "WARNING",
                "-n",
                f"{name}-{os.getpid()}@%h",
            ],
        )

    def start_api(self) -> str:
        port = free_port()
        process = self._start(
            "api",
            [
                str(self.bin / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--config",  # the production design (gevent workers with a header deadline)
                "python:api.gunicorn_conf",
                "api.wsgi:app",
            ],
        )
        self.api_url = f"http://127.0.0.1:{port}"
        self._wait_http(f"{self.api_url}/healthz", process)
        return self.api_url

    @staticmethod
    def _wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}; see its log")
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # still starting (or a loaded machine): ask again
            time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer within {timeout}s")

    def api_key(self, tenant_name: str, **limits) -> dict[str, str]:
        """A new tenant and the Authorization header of a fresh key for it."""
        svc = Services(self.settings)
        with svc.db.session() as session:
            tenant = create_tenant(session, self.settings, tenant_name, **limits)
            _, key = create_key(session, tenant, name="devstack")
        svc.db.dispose()
        return {"Authorization": f"Bearer {key}"}

    def wait_for_scan(
        self, scan_id: str, headers: dict, *, timeout: float = 600, poll: float = 0.5, on_progress=None
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            response = requests.get(f"{self.api_url}/v1/scans/{scan_id}", headers=headers, timeout=30)
            if response.status_code == 429:  # rate limited: wait as told
                time.sleep(int(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            scan = response.json()
            if on_progress:
                on_progress(scan)
            if scan["status"] in TERMINAL or time.monotonic() > deadline:
                return scan
            time.sleep(poll)
