"""Scan throughput through the REST API: a moto estate of a few thousand resources, two worker
processes, wall time from POST to completed and resources per second, at two estate sizes.

    make bench            (or: python -m bench.scan_throughput --groups 1000 --buckets 300)
"""

from __future__ import annotations

import argparse
import time

import requests

from devkit.devstack import DevStack, say
from devkit.estates import DEMO_CREDENTIALS, seed_synthetic_estate
from shared.platform.settings import Settings

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def run_one(stack: DevStack, headers: dict, endpoint: str, label: str) -> dict:
    account = requests.post(
        f"{stack.api_url}/v1/accounts",
        headers=headers,
        timeout=30,
        json={
            "provider": "aws",
            "name": f"bench-{label}",
            "environment": label,
            "regions": list(REGIONS),
            "credentials": DEMO_CREDENTIALS,
            "endpoint_url": endpoint,
        },
    )
    account.raise_for_status()
    body = {"name": f"bench {label}", "scan_type": "full", "environment": label, "cloud_providers": ["aws"]}
    started = time.perf_counter()
    created = requests.post(f"{stack.api_url}/v1/scans", headers=headers, json=body, timeout=30)
    created.raise_for_status()
    scan = stack.wait_for_scan(created.json()["id"], headers, poll=0.1)
    elapsed = time.perf_counter() - started
    resources = scan["progress"]["scanned_resources"]
    return {
        "label": label,
        "status": scan["status"],
        "resources": resources,
        "violations": scan["results"]["total_violations"],
        "seconds": elapsed,
        "rate": resources / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=1000, help="security groups per region in the large estate")
    parser.add_argument("--buckets", type=int, default=300, help="S3 buckets in the large estate")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args()
    settings = Settings.from_env()
    rows = []
    with DevStack(settings, worker_processes=args.workers) as stack:
        stack.start_worker()
        stack.start_api()
        headers = stack.api_key(f"bench-{int(time.time())}", max_concurrent=1)
        endpoint = stack.start_moto()
        for scale, label in ((10, "small"), (1, "large")):
            # moto servers in one process share their state: empty it between the two sizes.
            requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()
            groups, buckets = args.groups // scale, args.buckets // scale
            t0 = time.perf_counter()
            created = seed_synthetic_estate(endpoint, regions=REGIONS, groups_per_region=groups, buckets=buckets)
            say(f"{label}: seeded {created} resources in {time.perf_counter() - t0:.1f}s")
            rows.append(run_one(stack, headers, endpoint, label))
    print()
    print(
        f"Scan throughput through the REST API ({args.workers} worker processes, moto server, regions: "
        f"{', '.join(REGIONS)})"
    )
    print(f"{'estate':<8}{'status':<11}{'resources':>10}{'violations':>12}{'wall s':>9}{'res/s':>9}")
    for row in rows:
        print(
            f"{row['label']:<8}{row['status']:<11}{row['resources']:>10}{row['violations']:>12}"
            f"{row['seconds']:>9.2f}{row['rate']:>9.0f}"
        )
    small, large = rows
    print(
        f"size ratio {large['resources'] / small['resources']:.1f}x, time ratio "
        f"{large['seconds'] / small['seconds']:.2f}x (linear growth would be the size ratio)"
    )


if __name__ == "__main__":
    main()
