"""`policycortex demo`: a real scan end to end. Starts a moto server seeded with a small insecure
AWS estate, the API under gunicorn and a Celery worker; creates a tenant, key and account; then acts
as a REST caller would: triggers a scan, follows it, prints the result, and stops what it started."""

from __future__ import annotations

import json
import time

import requests

from shared.devstack import DevStack, say
from shared.estates import DEMO_CREDENTIALS, seed_demo_estate
from shared.settings import Settings

REGIONS = ("us-east-1", "eu-west-1")


def run_demo(settings: Settings, *, keep_running: bool = False) -> int:
    with DevStack(settings) as stack:
        endpoint = stack.start_moto()
        expected = seed_demo_estate(endpoint, REGIONS)
        say(f"moto server on {endpoint} seeded with an insecure estate ({len(expected)} known violations)")
        stack.start_worker()
        base = stack.start_api()
        say(f"API (gunicorn) on {base} and a Celery worker; logs in {stack.log_dir}/")
        headers = stack.api_key(f"demo-{int(time.time())}")

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
        say(f"POST /v1/accounts -> {account.status_code} {account.json()['id']}")

        body = {
            "name": "Production Full Compliance Scan",
            "scan_type": "full",
            "environment": "production",
            "cloud_providers": ["aws"],
            "frameworks": ["soc2", "hipaa", "iso27001"],
            "execution": {"immediate": True, "parallel_execution": True, "timeout": "10m"},
        }
        created = requests.post(f"{base}/v1/scans", headers=headers, json=body, timeout=30)
        say(f"POST /v1/scans -> {created.status_code}")
        print(json.dumps(created.json(), indent=2))

        def show(scan: dict) -> None:
            progress = scan["progress"]
            say(
                f"{scan['status']}: {progress['scanned_resources']}/{progress['total_resources']} resources "
                f"({progress['percentage']}%)"
            )

        scan = stack.wait_for_scan(created.json()["id"], headers, timeout=300, on_progress=show)
        say(f"GET /v1/scans/{scan['id']}")
        print(json.dumps(scan, indent=2))
        listing = requests.get(f"{base}/v1/scans", headers=headers, params={"limit": 20}, timeout=30).json()
        say("GET /v1/scans?limit=20")
        print(json.dumps(listing, indent=2))
        found = scan["results"]["total_violations"]
        ok = scan["status"] == "completed" and found == len(expected)
        say(
            f"scan {scan['status']}: {found} violations found, {len(expected)} expected -> {'OK' if ok else 'MISMATCH'}"
        )
        if keep_running:
            say(f"leaving everything running; API {base}, {headers['Authorization']}. Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0 if ok else 1
