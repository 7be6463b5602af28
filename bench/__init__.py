"""Benchmarks: programs that print figures and ratios measured in one run (`make bench`)."""

from __future__ import annotations

import time

import requests


def timed_scan(stack, headers: dict, body: dict, *, timeout: float = 600) -> tuple[dict, float]:
    """POST a scan to a DevStack's API and wait for its end: the finished scan and the wall seconds
    from the POST to the status that ended it."""
    started = time.perf_counter()
    created = requests.post(f"{stack.api_url}/v1/scans", headers=headers, json=body, timeout=30)
    created.raise_for_status()
    scan = stack.wait_for_scan(created.json()["id"], headers, timeout=timeout, poll=0.1)
    return scan, time.perf_counter() - started
