"""Admission under 200 concurrent POST /v1/scans from one tenant, and the API's latency for
GET /v1/scans and GET /v1/scans/<id> under a sustained load while those scans run.

    python -m bench.api_load [--posts 200] [--max-concurrent 10] [--max-queued 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import select

from devkit.devstack import DevStack
from devkit.estates import DEMO_CREDENTIALS, DEMO_POLICIES, seed_demo_estate
from shared.platform.context import Services
from shared.platform.settings import Settings
from shared.scans.models import Scan


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def peak_overlap(intervals: list[tuple]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--max-concurrent", type=int, default=10)
    parser.add_argument("--max-queued", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the GET load")
    parser.add_argument("--clients", type=int, default=16, help="concurrent GET clients")
    args = parser.parse_args()
    # The load is one key's; its rate limit (1200/minute by default) is not what is measured here.
    os.environ.setdefault("POLICYCORTEX_RATE_LIMIT", "1000000/minute")
    settings = Settings.from_env()
    with DevStack(settings) as stack:
        moto = stack.start_moto()
        seed_demo_estate(moto, ("us-east-1",))
        stack.start_worker()
        base = stack.start_api()
        headers = stack.api_key(
            f"bench-load-{int(time.time())}", max_concurrent=args.max_concurrent, max_queued=args.max_queued
        )
        requests.post(
            f"{base}/v1/accounts",
            headers=headers,
            timeout=30,
            json={
                "provider": "aws",
                "name": "load",
                "environment": "production",
                "regions": ["us-east-1"],
                "credentials": DEMO_CREDENTIALS,
                "endpoint_url": moto,
            },
        ).raise_for_status()
        body = {
            "name": "load",
            "scan_type": "policy_specific",
            "environment": "production",
            "cloud_providers": ["aws"],
            "scope": {"include_policies": list(DEMO_POLICIES)},
        }

        def post(_: int) -> requests.Response:
            return requests.post(f"{base}/v1/scans", headers=headers, json=body, timeout=120)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.posts) as pool:
            answers = list(pool.map(post, range(args.posts)))
        burst = time.perf_counter() - started
        accepted = [a.json() for a in answers if a.status_code == 202]
        refused = [a for a in answers if a.status_code == 429]
        other = [a.status_code for a in answers if a.status_code not in (202, 429)]
        positions = sorted(s["queue_position"] for s in accepted if s["status"] == "pending")
        some_id = accepted[0]["id"]

        latencies: dict[str, list[float]] = {"GET /v1/scans": [], "GET /v1/scans/<id>": []}
        stop = time.monotonic() + args.seconds
        lock = threading.Lock()

        def load(index: int) -> None:
            session = requests.Session()
            while time.monotonic() < stop:
                name, url = (
                    ("GET /v1/scans", f"{base}/v1/scans?limit=20")
                    if index % 2
                    else ("GET /v1/scans/<id>", f"{base}/v1/scans/{some_id}")
                )
                began = time.perf_counter()
                session.get(url, headers=headers, timeout=30).raise_for_status()
                with lock:
                    latencies[name].append(time.perf_counter() - began)

        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(load, range(args.clients)))
        for scan in accepted:
            stack.wait_for_scan(scan["id"], headers, timeout=900, poll=1)
        svc = Services(settings)
        with svc.db.session() as session:
            intervals = session.execute(
                select(Scan.started_at, Scan.completed_at).where(
                    Scan.id.in_([s["id"] for s in accepted]), Scan.started_at.is_not(None)
                )
            ).all()
        svc.db.dispose()

    print()
    print(
        f"Admission: {args.posts} concurrent POST /v1/scans in {burst:.1f} s from one tenant "
        f"(max_concurrent {args.max_concurrent}, max_queued {args.max_queued})"
    )
    print(f"  202: {len(accepted)}, 429: {len(refused)}, other: {other or 'none'}")
    print(
        f"  queue positions of the pending ones: {positions[:3]}...{positions[-3:]} "
        f"({len(set(positions))} distinct of {len(positions)})"
    )
    print(f"  peak scans running at once (from their start/end times): {peak_overlap(intervals)}")
    print(f"API latency under {args.clients} concurrent clients for {args.seconds:.0f} s, scans running:")
    for name, values in latencies.items():
        print(
            f"  {name:<20} {len(values):>6} requests  p50 {percentile(values, 0.5) * 1000:6.1f} ms  "
            f"p99 {percentile(values, 0.99) * 1000:6.1f} ms"
        )


if __name__ == "__main__":
    main()
