"""Scans of 10,000 and 100,000 resources: a synthetic estate over AWS (a moto server), Azure and GCP
(the local fakes) in several accounts and regions, with a known share of non-compliant resources,
scanned end to end through the REST API by a real gunicorn and Celery worker.

Per size: wall time from POST to completed, resources per second, peak RSS of a worker process,
the share of worker time spent in collection, evaluation, database writes and everything else
(orchestration: planning, queueing, progress events, finalizing, idle worker slots), and whether
the violations found are exactly the ones seeded. Seeding is not timed.

    python -m bench.estate_scale --sizes 10000,100000 --workers 2 --noncompliant 0.25
    python -m bench.estate_scale --sizes 1000          (a smoke run)
"""

from __future__ import annotations

import argparse
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import select

from devkit.devstack import DevStack, free_port, say
from devkit.estates import (
    DEMO_CREDENTIALS,
    SCALE_AWS_ACCOUNTS,
    SCALE_AZURE_SUBSCRIPTIONS,
    SCALE_GCP_PROJECTS,
    SCALE_POLICIES,
    scale_estate,
    seed_security_groups,
)
from devkit.fakes.azure import FakeAzure
from devkit.fakes.gcp import FakeAssetInventory
from shared.platform.context import Services
from shared.platform.settings import Settings
from shared.scans.models import ScanShard

PHASES = ("collect", "evaluate", "write")


def timed_scan(stack, headers: dict, body: dict, *, timeout: float = 600) -> tuple[dict, float]:
    """POST a scan to a DevStack's API and wait for its end: the finished scan and the wall seconds
    from the POST to the status that ended it."""
    started = time.perf_counter()
    created = requests.post(f"{stack.api_url}/v1/scans", headers=headers, json=body, timeout=30)
    created.raise_for_status()
    scan = stack.wait_for_scan(created.json()["id"], headers, timeout=timeout, poll=0.1)
    return scan, time.perf_counter() - started


def start_moto(stack: DevStack) -> str:
    """moto's server in its own process: listing is moto's slowest part, and in this process it
    would compete with the fakes for one interpreter."""
    port = free_port()
    log = open(stack.log_dir / "moto.log", "w")  # noqa: SIM115 - closed by the stack
    stack.callback(log.close)
    process = subprocess.Popen([str(stack.bin / "moto_server"), "-p", str(port)], stdout=log, stderr=log)

    def stop() -> None:
        process.terminate()
        process.wait(timeout=30)

    stack.callback(stop)
    url = f"http://127.0.0.1:{port}"
    stack._wait_http(f"{url}/moto-api/", process)
    return url


class PeakRss:
    """The largest resident set of any child of the worker's main process (the prefork pool):
    each child's VmHWM, sampled so a child that is replaced still counts."""

    def __init__(self, parent: int):
        self.parent, self.peak_kib = parent, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sample()
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def sample(self) -> None:
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:
                continue  # the process ended between listing and reading
            if int(fields.get("PPid", "0")) == self.parent and "VmHWM" in fields:
                self.peak_kib = max(self.peak_kib, int(fields["VmHWM"].split()[0]))


def create_accounts(stack: DevStack, headers: dict, environment: str, moto: str, azure: str, gcp: str) -> None:
    accounts = [
        {
            "provider": "aws",
            "name": name,
            "regions": list(regions),
            "credentials": DEMO_CREDENTIALS,
            "endpoint_url": moto,
        }
        for name, regions in SCALE_AWS_ACCOUNTS.items()
    ]
    accounts += [
        {
            "provider": "azure",
            "name": f"azure-{index}",
            "credentials": {"access_token": "t", "subscription_id": subscription},
            "endpoint_url": azure,
        }
        for index, subscription in enumerate(SCALE_AZURE_SUBSCRIPTIONS)
    ]
    accounts += [
        {"provider": "gcp", "name": project, "credentials": {"project_id": project}, "endpoint_url": gcp}
        for project, _ in SCALE_GCP_PROJECTS
    ]
    for account in accounts:
        response = requests.post(
            f"{stack.api_url}/v1/accounts", headers=headers, json={**account, "environment": environment}, timeout=30
        )
        response.raise_for_status()


def shard_timings(settings: Settings, scan_id: str) -> tuple[int, dict[str, float]]:
    """The scan's shard count and the seconds its shards spent per phase, summed."""
    svc = Services(settings)
    try:
        with svc.db.session() as session:
            timings = session.scalars(select(ScanShard.timings).where(ScanShard.scan_id == scan_id)).all()
    finally:
        svc.db.dispose()
    return len(timings), {phase: sum(t.get(phase, 0.0) for t in timings) for phase in PHASES}


def run_size(settings: Settings, size: int, workers: int, share: float) -> list[dict]:
    estate = scale_estate(size, share)
    split = estate.by_provider()
    say(f"{size}: estate {split} ({share:.0%} non-compliant)")
    with DevStack(settings, worker_processes=workers) as stack:
        moto = start_moto(stack)
        azure = stack.enter_context(FakeAzure(estate.azure_rows))
        gcp = stack.enter_context(FakeAssetInventory(estate.gcp_assets))
        started = time.perf_counter()
        with ThreadPoolExecutor(len(estate.aws)) as pool:
            defaults = sum(
                pool.map(lambda unit: seed_security_groups(moto, unit[0][1], unit[1], share), estate.aws.items())
            )
        say(f"{size}: seeded moto in {time.perf_counter() - started:.1f}s (+{defaults} default groups)")
        worker = stack.start_worker()
        stack.start_api()
        environment = f"scale-{size}-{int(time.time())}"
        headers = stack.api_key(environment, max_concurrent=1)
        create_accounts(stack, headers, environment, moto, azure.url, gcp.url)
        body = {
            "name": f"scale {size}",
            "scan_type": "full",
            "environment": environment,
            "cloud_providers": ["aws", "azure", "gcp"],
            "scope": {"include_policies": list(SCALE_POLICIES)},
        }
        rows = []
        with PeakRss(worker.pid) as rss:
            # The first scan knows no inventory; the rescan (next week's scan) does, and splits large
            # accounts into several shards.
            for label in ("first", "rescan"):
                scan, seconds = timed_scan(stack, headers, body, timeout=1800)
                shards, phases = shard_timings(settings, scan["id"])
                rss.sample()
                rows.append(figures(label, scan, seconds, shards, phases, workers, rss.peak_kib))
    for row in rows:
        row.update(size=size, split=split, expected_resources=size + defaults)
        row["expected"] = estate.expected_violations + defaults
    return rows


def figures(label: str, scan: dict, seconds: float, shards: int, phases: dict, workers: int, rss_kib: int) -> dict:
    busy = sum(phases.values())
    capacity = seconds * workers  # worker-seconds the scan had: what is not a shard phase is orchestration
    return {
        "scan": label,
        "status": scan["status"],
        "resources": scan["progress"]["scanned_resources"],
        "violations": scan["results"]["total_violations"],
        "shards": shards,
        "seconds": seconds,
        "rate": scan["progress"]["scanned_resources"] / seconds,
        "rss_mib": rss_kib / 1024,
        "shares": {**{p: phases[p] / capacity for p in PHASES}, "orchestration": max(0.0, 1 - busy / capacity)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="estate sizes, comma separated")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (prefork -c)")
    parser.add_argument("--noncompliant", type=float, default=0.25, help="share of non-compliant resources")
    args = parser.parse_args()
    settings = Settings.from_env()
    rows = [
        row for size in args.sizes.split(",") for row in run_size(settings, int(size), args.workers, args.noncompliant)
    ]
    print()
    print(
        f"Estate scale: full scans through the REST API, {args.workers} worker processes, "
        f"page size {settings.page_size}, shards split above {settings.shard_max_resources} resources"
    )
    for row in rows[::2]:
        split = ", ".join(f"{provider} {count}" for provider, count in row["split"].items())
        print(f"  {row['size']} resources: {split} (AWS on moto in 2 accounts x 2 regions, Azure 3 subscriptions,")
        print("    GCP 3 projects; AWS adds one default security group per region)")
    print(
        f"{'size':>8}{'scan':>8}{'status':>11}{'scanned':>9}{'shards':>8}{'wall s':>8}{'res/s':>7}{'peak MiB':>10}"
        f"{'collect':>9}{'evaluate':>10}{'db write':>10}{'orchestr.':>11}{'violations':>12}"
    )
    for row in rows:
        shares = row["shares"]
        check = "ok" if row["violations"] == row["expected"] else f"expected {row['expected']}"
        print(
            f"{row['size']:>8}{row['scan']:>8}{row['status']:>11}{row['resources']:>9}{row['shards']:>8}"
            f"{row['seconds']:>8.1f}{row['rate']:>7.0f}{row['rss_mib']:>10.0f}{shares['collect']:>9.0%}"
            f"{shares['evaluate']:>10.0%}{shares['write']:>10.0%}{shares['orchestration']:>11.0%}"
            f"{row['violations']:>8} {check}"
        )
    for label in ("first", "rescan"):
        scans = [row for row in rows if row["scan"] == label]
        for small, large in zip(scans, scans[1:], strict=False):
            print(
                f"{label} scans, {large['size']} vs {small['size']}: size ratio "
                f"{large['resources'] / small['resources']:.1f}x, "
                f"time ratio {large['seconds'] / small['seconds']:.2f}x (linear growth is the size ratio)"
            )
    wrong = [r for r in rows if r["violations"] != r["expected"] or r["resources"] != r["expected_resources"]]
    if wrong:
        raise SystemExit(f"{len(wrong)} scan(s) did not find exactly the seeded resources and violations")


if __name__ == "__main__":
    main()
