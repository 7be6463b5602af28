"""Fault-injection fixtures: a PostgreSQL cluster and a Redis server of our own (other test sessions
share the machine's, so only these are ever killed, restarted or stopped) and a real Celery worker
process (prefork) whose children the tests kill.

Every session-scoped fixture of tests/conftest.py that depends on `settings` is overridden here, so
nothing built for the machine's servers is reused against the private ones (or the other way round)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import boto3
import pytest
import requests
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from devkit.estates import DEMO_CREDENTIALS, DEMO_POLICIES, seed_demo_estate
from shared.migrations.commands import upgrade
from shared.platform.db import ensure_database
from shared.platform.settings import Settings
from shared.scans.models import ScanShard, Violation
from shared.tenants.apikeys import create_key
from shared.tenants.service import create_tenant
from tests.conftest import TenantHandle, free_port, scan_body, wait_for_scan
from tests.fakes import SlowCloud

QUEUES = "scans,shards,notifications,housekeeping"
CELERY = Path(sys.executable).with_name("celery")
REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition", every: float = 0.05):
    """Poll until `condition()` is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(every)


def _postgres_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p).parent.name.isdigit()]
    if not versions:
        pytest.skip("fault tests need the PostgreSQL server binaries (initdb, pg_ctl)")
    return max(versions, key=lambda p: int(p.parent.name))


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary directory, on a free port, trust auth. initdb
    refuses to run as root, so as root the cluster belongs to the `postgres` user."""

    def __init__(self, root: Path):
        self.root, self.data, self.port = root, root / "data", free_port()
        self.bin = _postgres_bin()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(root, "postgres")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_owner, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}"

    def url(self, database: str = "policycortex") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as clients can tell: connections drop, nothing is said."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


class PrivateRedis:
    """A redis-server of our own without persistence: a restart loses everything, like a lost cache
    node (queues, unacknowledged messages, chord counters, progress, RedBeat entries)."""

    def __init__(self, root: Path):
        self.root, self.port = root, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not shutil.which("redis-server"):
            pytest.skip("fault tests need redis-server")
        log = open(self.root / "redis.log", "a")  # noqa: SIM115 - the server owns it until it exits
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--maxmemory-policy", "noeviction", "--dir", str(self.root)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        probe = Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: self._answers(probe), timeout=20, what="private redis-server answering")
        probe.close()

    @staticmethod
    def _answers(client: Redis) -> bool:
        try:
            return client.ping()
        except RedisConnectionError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment under which Settings.from_env() gives back `settings` (checked)."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
        "POLICYCORTEX_SHARD_SOFT_TIME_LIMIT": str(settings.shard_soft_time_limit),
        "POLICYCORTEX_SHARD_TIME_LIMIT": str(settings.shard_time_limit),
        "POLICYCORTEX_MAX_SHARD_ATTEMPTS": str(settings.max_shard_attempts),
        "POLICYCORTEX_DB_RETRY_MAX_DELAY": str(settings.db_retry_max_delay),
        "POLICYCORTEX_DB_MAX_RETRIES": str(settings.db_max_retries),
        "POLICYCORTEX_PAGE_SIZE": str(settings.page_size),
        "POLICYCORTEX_OUTBOUND_ALLOWLIST": ",".join(settings.outbound_allowlist),
        "POLICYCORTEX_LOG_LEVEL": settings.log_level,
        "POLICYCORTEX_RATE_LIMIT": settings.rate_limit,
        "POLICYCORTEX_AUTH_FAILURE_LIMIT": settings.auth_failure_limit,
    }
    seen = Settings.from_env(env)
    differ = [f.name for f in fields(Settings) if getattr(seen, f.name) != getattr(settings, f.name)]
    assert not differ, f"worker_env does not carry these test settings to the worker: {differ}"
    return env


class WorkerProcess:
    """`celery -A workers.main worker` (prefork, two children, every queue) as a real process."""

    def __init__(self, celery_app, settings: Settings, log_path: Path):
        self.app, self.settings, self.log_path = celery_app, settings, log_path
        self.name = f"faults-{os.getpid()}-{time.monotonic_ns()}@localhost"
        self.process: subprocess.Popen | None = None
        self.log_start = 0  # where the current process's log begins

    def start(self) -> WorkerProcess:
        command = [str(CELERY), "-A", "workers.main", "worker", "-P", "prefork", "-c", "2", "-Q", QUEUES]
        command += ["-n", self.name, "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
        self.log_start = len(self.log()) if self.log_path.exists() else 0
        with open(self.log_path, "a") as log:
            # A session of its own: stop() ends the worker and its children, and nothing else.
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=worker_env(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def ready(self) -> WorkerProcess:
        """Answering a ping, with both children up (after a kill, once the replacement has started)."""
        wait_for(self._answers, timeout=60, what=f"worker {self.name} answering a ping")
        wait_for(lambda: len(self.children()) == 2, what="the worker's two children")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}; log:\n{self.log()}")
        try:
            return bool(self.app.control.ping(destination=[self.name], timeout=0.5))
        except RedisConnectionError:  # a pooled connection from before a Redis restart: ask again
            return False

    def supervise(self) -> bool:
        """What the worker's supervisor does (compose: `restart: unless-stopped`) when its main process
        gives up ("Unrecoverable error", logged at once; it exits once its running tasks end): start
        it again. True when it had to."""
        gave_up = "Unrecoverable error" in self.log()[self.log_start :]
        if gave_up:
            self.process.wait(60)
            self.start()
        return gave_up

    def children(self) -> set[int]:
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as handle:
            return {int(pid) for pid in handle.read().split()}

    def pid_running(self, task_name: str, args: list) -> int | None:
        """The pid of the child process running `task_name(*args)` now, as the worker reports it."""
        active = self.app.control.inspect(destination=[self.name], timeout=2).active() or {}
        for task in active.get(self.name, []):
            if task["name"] == task_name and list(task["args"]) == list(args):
                return task["worker_pid"]
        return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # Nothing of a test worker is worth a graceful shutdown: the worker and its children, at once.
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture(scope="package")
def fault_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="pc-faults-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="pc-faults-pg-"))  # its own: the cluster's owner must enter it
    cluster = PrivatePostgres(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def private_redis(fault_dir) -> Iterator[PrivateRedis]:
    server = PrivateRedis(fault_dir)
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="package")
def settings(settings, private_postgres, private_redis) -> Settings:
    """The suite's test settings, pointed at the private servers; retries back off for at most 2 s,
    so that recovery is quick once a server returns."""
    return replace(
        settings,
        database_url=private_postgres.url(),
        redis_url=private_redis.url,
        db_retry_max_delay=2,
        db_max_retries=60,
        max_shard_attempts=2,  # the cap is the same at 2 as at 3; a poison shard costs a kill less
    )


@pytest.fixture(scope="package")
def database(settings) -> str:
    ensure_database(settings.database_url)
    upgrade(settings.database_url)
    return settings.database_url


@pytest.fixture(scope="package")
def redis_client(settings) -> Iterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    client.close()


@pytest.fixture(scope="package")
def celery_app(settings, database):
    from workers.celery_app import create_celery

    return create_celery(settings)


@pytest.fixture(scope="package")
def svc(celery_app) -> Iterator:
    yield celery_app.services
    celery_app.services.db.dispose()


@pytest.fixture(scope="package")
def app(settings, celery_app):
    from api.app import create_app

    return create_app(settings, celery=celery_app)


@pytest.fixture(scope="package")
def worker_process(celery_app, settings, fault_dir) -> Iterator[WorkerProcess]:
    """Started, not waited for: it boots while the estate is seeded (tasks wait in the queue)."""
    running = WorkerProcess(celery_app, settings, fault_dir / "worker.log").start()
    yield running
    running.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture()
def worker(worker_process, request) -> Iterator[WorkerProcess]:
    """The package's worker process, answering and with both children up: one worker survives every
    fault of the package, since recovering without a restart is the point (the in-process worker of
    tests/conftest.py is never used here: it could not be killed without killing the test)."""
    start = len(worker_process.ready().log())
    yield worker_process
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:  # the worker's side of the story, in the test's report
        print(f"--- worker log during {request.node.name} ---\n{worker_process.log()[start:][-10000:]}")


# --- the estate the fault tests scan, and what a scan of it found ----------------------------------

REGIONS = ("us-east-1", "eu-west-1")
LONG_REGION = "eu-west-1"  # 40 log groups, listed five a page: a shard long enough to hit mid-listing
SLOW = 0.3  # seconds per cloud call while a test disturbs a scan: its long shard lists for about 3 s
POLICIES = (*DEMO_POLICIES, "pol_logs_retention_defined", "pol_logs_retention_one_year")


def seed_estate(moto: str) -> None:
    """The demo estate plus 40 log groups: a third keep events forever, a third for 30 days."""
    seed_demo_estate(moto, regions=REGIONS)
    logs = boto3.client(
        "logs",
        region_name=LONG_REGION,
        endpoint_url=moto,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )
    for index in range(40):
        name = f"/app/service-{index:02d}"
        logs.create_log_group(logGroupName=name)
        if index % 3:
            logs.put_retention_policy(logGroupName=name, retentionInDays=30 if index % 3 == 1 else 365)


def start_scan(client, tenant) -> str:
    response = client.post(
        "/v1/scans", json=scan_body(scope={"include_policies": list(POLICIES)}), headers=tenant.headers
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


@dataclass
class Estate:
    """The estate every fault test scans: one tenant's AWS account in front of the seeded moto server,
    through a proxy whose delay a test turns up, and what an undisturbed scan of it found."""

    tenant: TenantHandle
    cloud: SlowCloud
    undisturbed: dict  # outcome() of an undisturbed scan: what every disturbed scan must reproduce


@pytest.fixture(scope="package")
def estate(moto_server, app, svc, settings, worker_process) -> Iterator[Estate]:
    """Built once (the tests only read it); one account for every test, so that fingerprints, which
    name the account, compare as they are."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    seed_estate(moto_server)
    with svc.db.session() as session:
        tenant = create_tenant(session, settings, f"faults-{time.monotonic_ns()}")
        _, key = create_key(session, tenant, scopes=("read", "write"))
    handle = TenantHandle(tenant.id, tenant.name, key)
    client = app.test_client()
    with SlowCloud(moto_server, delay=0) as cloud:
        account = {
            "provider": "aws",
            "name": "faults",
            "environment": "production",
            "regions": list(REGIONS),
            "credentials": DEMO_CREDENTIALS,
            "endpoint_url": cloud.url,
        }
        response = client.post("/v1/accounts", json=account, headers=handle.headers)
        assert response.status_code == 201, response.get_json()
        scan = wait_for_scan(client, handle, start_scan(client, handle))
        assert scan["status"] == "completed", scan
        yield Estate(handle, cloud, outcome(client, svc, handle, scan["id"]))


def shard_row(svc, scan_id: str, region: str) -> ScanShard | None:
    with svc.db.session() as session:
        return session.scalar(select(ScanShard).where(ScanShard.scan_id == scan_id, ScanShard.region == region))


def outcome(client, svc, tenant, scan_id: str) -> dict:
    """What a finished scan found, as the API reports it and as PostgreSQL holds it: everything a
    disturbed scan must reproduce exactly (what is relative to the previous scan, such as
    new_violations, aside)."""
    scan = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()
    results = scan["results"]
    with svc.db.session() as session:
        fingerprints = sorted(session.scalars(select(Violation.fingerprint).where(Violation.scan_id == scan_id)))
        shards = {
            shard.region: {
                "status": shard.status,
                "resources": shard.resources_scanned,
                "violations": shard.violations_found,
                "policy_stats": shard.policy_stats,
                "errors": shard.errors,
            }
            for shard in session.scalars(select(ScanShard).where(ScanShard.scan_id == scan_id))
        }
    return {
        "status": scan["status"],
        "status_reason": scan["status_reason"],
        "compliance_score": results["compliance_score"],
        "total_violations": results["total_violations"],
        "violation_breakdown": results["violation_breakdown"],
        "errors": results["errors"],
        "scanned_resources": scan["progress"]["scanned_resources"],
        "fingerprints": fingerprints,
        "shards": shards,
    }
