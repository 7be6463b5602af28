"""Inventory uploads through POST /v1/accounts/<id>/inventory, end to end under gunicorn: our JSON
(S3 buckets) and a `gcloud asset export` NDJSON (storage buckets) of N resources each. Prints the time,
resources per second and the peak memory (VmHWM) of the API process that ingested each upload, and
how far that peak rose above the process's memory before it.

    python -m bench.upload [--sizes 10000,100000,1000000]

Bodies are generated into temporary files first (about 370 bytes a resource in JSON, 800 in NDJSON),
so the time is the API's. The API runs with POLICYCORTEX_MAX_UPLOAD_LENGTH raised to 2 GiB: a million
resources do not fit in the default 64 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from devkit.devstack import DevStack
from devkit.fakes.gcp import make_asset
from shared.platform.settings import Settings

PROJECT, NUMBER = "bench-project", "314159265358"
FORMATS = {"json": "application/json", "ndjson": "application/x-ndjson"}


def s3_bucket(index: int) -> dict:
    name = f"bench-{index:07d}"
    return {
        "type": "aws.s3.bucket",
        "id": name,
        "uid": f"arn:aws:s3:::{name}",
        "region": ("us-east-1", "eu-west-1", "ap-southeast-2")[index % 3],
        "document": {
            "Name": name,
            "Versioning": {"Status": "Enabled" if index % 4 else "Suspended"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": index % 5 != 0,
                "RestrictPublicBuckets": True,
            },
            "Tags": [{"Key": "team", "Value": f"team-{index % 17}"}],
        },
    }


def gcs_bucket(index: int) -> dict:
    name = f"bench-{index:07d}"
    data = {
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "projectNumber": NUMBER,
        "location": "US-CENTRAL1",
        "locationType": "region",
        "storageClass": "STANDARD",
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": index % 4 != 0}},
        "timeCreated": "2024-05-02T11:20:31.412Z",
        "updated": "2026-10-02T08:01:12.000Z",
        "metageneration": "3",
        "etag": "CAM=",
    }
    asset_name = f"//storage.googleapis.com/{name}"
    return make_asset(PROJECT, NUMBER, "storage.googleapis.com/Bucket", asset_name, data, location="us-central1").asset


def json_body(count: int) -> Iterator[str]:
    yield '{"mode": "replace", "resources": [\n'
    for index in range(count):
        yield json.dumps(s3_bucket(index)) + (",\n" if index < count - 1 else "\n")
    yield "]}\n"


def ndjson_body(count: int) -> Iterator[str]:
    for index in range(count):
        yield json.dumps(gcs_bucket(index)) + "\n"


def write_body(path: Path, kind: str, count: int) -> int:
    lines = json_body(count) if kind == "json" else ndjson_body(count)
    with path.open("w") as out:
        for line in lines:
            out.write(line)
    return path.stat().st_size


def workers(master: int) -> list[int]:
    """The gunicorn master's worker processes."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def reset_peaks(pids: list[int]) -> bool:
    """Reset each process's VmHWM to its current RSS (Linux 4.0+); False where that is refused."""
    try:
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def upload(stack: DevStack, headers: dict, kind: str, count: int, folder: Path) -> dict:
    path = folder / f"upload.{kind}"
    size = write_body(path, kind, count)
    account = requests.post(
        f"{stack.api_url}/v1/accounts",
        headers=headers,
        timeout=30,
        json={"provider": "hybrid", "name": f"upload-{kind}-{count}-{time.time_ns()}", "environment": "production"},
    )
    account.raise_for_status()
    pids = workers(stack.processes["api"].pid)
    resettable = reset_peaks(pids)
    before = {pid: status_kib(pid, "VmRSS") for pid in pids}
    started = time.perf_counter()
    with path.open("rb") as body:
        response = requests.post(
            f"{stack.api_url}/v1/accounts/{account.json()['id']}/inventory",
            headers={**headers, "Content-Type": FORMATS[kind]},
            data=body,
            timeout=3600,
        )
    elapsed = time.perf_counter() - started
    path.unlink()
    if response.status_code != 202:
        raise RuntimeError(f"{kind} upload of {count}: HTTP {response.status_code} {response.text[:500]}")
    summary = response.json()
    if summary["stored"] != count:
        raise RuntimeError(f"{kind} upload of {count}: {summary['stored']} stored")
    # The process that ingested the upload is the one whose peak rose the most.
    peaks = {pid: status_kib(pid, "VmHWM") for pid in pids}
    pid = max(pids, key=lambda p: peaks[p] - before[p])
    return {
        "kind": kind,
        "count": count,
        "bytes": size,
        "seconds": elapsed,
        "peak_mib": peaks[pid] / 1024,
        "growth_mib": (peaks[pid] - before[pid]) / 1024,
        "peak_since_start": not resettable,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="resources per upload, comma separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    os.environ.setdefault("POLICYCORTEX_MAX_UPLOAD_LENGTH", str(2 * 1024**3))
    os.environ.setdefault("POLICYCORTEX_MAX_UPLOAD_RESOURCES", str(max(sizes)))
    os.environ.setdefault("POLICYCORTEX_RATE_LIMIT", "1000000/minute")  # not what is measured here
    settings = Settings.from_env()
    results = []
    with DevStack(settings) as stack, tempfile.TemporaryDirectory(prefix="bench-upload-") as folder:
        stack.start_api()
        headers = stack.api_key(f"bench-upload-{int(time.time())}")
        for kind in FORMATS:
            for count in sizes:
                results.append(upload(stack, headers, kind, count, Path(folder)))
                result = results[-1]
                print(f"  {kind:<6} {count:>9,} resources: {result['seconds']:7.1f} s", flush=True)

    print()
    print("Inventory uploads, POST /v1/accounts/<id>/inventory (one request each, new inventory account):")
    for r in results:
        note = " (VmHWM since the worker started: clear_refs refused)" if r["peak_since_start"] else ""
        print(
            f"  {r['kind']:<6} {r['count']:>9,} resources, {r['bytes'] / 2**20:7.1f} MiB: {r['seconds']:7.1f} s, "
            f"{r['count'] / r['seconds']:8,.0f} resources/s, API process peak {r['peak_mib']:6.0f} MiB "
            f"(+{r['growth_mib']:.0f} MiB during the upload){note}"
        )


if __name__ == "__main__":
    main()
