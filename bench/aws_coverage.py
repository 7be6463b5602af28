"""AWS coverage against cost: the same mixed moto estate scanned through the REST API by the code
before the AWS coverage work (git revision BASE, checked out in a worktree) and by this tree.
Prints, for each, a first scan (fresh worker processes, which load the AWS clients they need) and
a warm second one: built-in AWS policies and resource types, resources scanned, violations, the
scan's wall time, the worker processes' CPU seconds, and the AWS calls the scan made (counted by a
proxy in front of moto) per resource.

    python -m bench.aws_coverage [--base 5a8a2f8] [--scale 10]

Each side runs its own API and Celery worker (2 processes) from its own tree; the estate, moto,
PostgreSQL and Redis are shared, and the proxy's count is reset between the two scans.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parents[1]
HOP_BY_HOP = {"connection", "content-length", "content-encoding", "transfer-encoding", "keep-alive"}


class CountingProxy:
    """Forwards every request to moto and counts them."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.count = 0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.path == "/__calls":  # the bench's own question, not forwarded
            return Response(str(self.count))(environ, start_response)
        with self._lock:
            self.count += 1
        answer = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            headers={k: v for k, v in request.headers if k.lower() != "host"},
            data=request.get_data(),
            timeout=60,
        )
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(answer.content, status=answer.status_code, headers=headers)(environ, start_response)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (Celery's prefork children)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def measure(endpoint: str) -> dict:
    """One scan of the estate at `endpoint` by this tree's code (run inside the tree)."""
    from devkit.devstack import DevStack
    from devkit.estates import DEMO_CREDENTIALS
    from shared.inventory.collectors.providers import resource_types
    from shared.platform.settings import Settings
    from shared.policies.policy import builtin_policies

    aws_policies = [p for p in builtin_policies().values() if p.provider == "aws"]
    aws_types = [name for name in resource_types.names() if name.startswith("aws.")]
    with DevStack(Settings.from_env(), log_dir=Path(tempfile.mkdtemp()), worker_processes=2) as stack:
        worker = stack.start_worker()
        stack.start_api()
        headers = stack.api_key(f"bench-coverage-{time.time_ns()}")
        account = requests.post(
            f"{stack.api_url}/v1/accounts",
            headers=headers,
            timeout=30,
            json={
                "provider": "aws",
                "name": "bench-coverage",
                "environment": "bench",
                "regions": ["us-east-1", "eu-west-1"],
                "credentials": DEMO_CREDENTIALS,
                "endpoint_url": endpoint,
            },
        )
        account.raise_for_status()
        time.sleep(2)  # let the worker finish starting before the CPU baseline
        runs = []
        for _ in range(2):  # a first scan (each worker process loads the clients it needs), then a warm one
            cpu_before, calls_before = _cpu_seconds(worker.pid), _calls(endpoint)
            body = {"name": "coverage", "scan_type": "full", "environment": "bench", "cloud_providers": ["aws"]}
            started = time.perf_counter()
            created = requests.post(f"{stack.api_url}/v1/scans", headers=headers, json=body, timeout=30)
            created.raise_for_status()
            scan = stack.wait_for_scan(created.json()["id"], headers, poll=0.05, timeout=1800)
            runs.append(
                {
                    "policies": len(aws_policies),
                    "types": len(aws_types),
                    "status": scan["status"],
                    "resources": scan["progress"]["scanned_resources"],
                    "violations": scan["results"]["total_violations"],
                    "errors": len(scan["results"].get("errors") or []),
                    "wall": time.perf_counter() - started,
                    "cpu": _cpu_seconds(worker.pid) - cpu_before,
                    "calls": _calls(endpoint) - calls_before,
                }
            )
    return runs


def _calls(endpoint: str) -> int:
    return int(requests.get(f"{endpoint}/__calls", timeout=10).text)


def _run_side(tree: Path, proxy: CountingProxy) -> list[dict]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.aws_coverage", "--measure", proxy.url],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="5a8a2f8", help="the git revision before the AWS coverage work")
    parser.add_argument("--scale", type=int, default=10, help="resources of each kind per region")
    parser.add_argument("--measure", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    from devkit.devstack import DevStack, say
    from devkit.mixed_estate import seed_mixed_aws_estate
    from shared.platform.settings import Settings

    base = ROOT / ".run" / "bench-base"
    if base.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True, capture_output=True
    )
    try:
        shutil.copy(Path(__file__), base / "bench" / "aws_coverage.py")  # this driver, run on the old code
        with DevStack(Settings.from_env()) as stack:
            moto = stack.start_moto()
            t0 = time.perf_counter()
            seeded = seed_mixed_aws_estate(moto, scale=args.scale)
            say(f"seeded {seeded} resources (plus moto's defaults) in {time.perf_counter() - t0:.1f}s")
            proxy = CountingProxy(moto)
            before, after = _run_side(base, proxy), _run_side(ROOT, proxy)
            rows = [("before", before[0]), ("before, warm", before[1]), ("after", after[0]), ("after, warm", after[1])]
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print()
    print(
        f"AWS coverage and its cost: one mixed estate on moto (scale {args.scale}, 2 regions), "
        f"before = {args.base}, after = this tree; 2 worker processes"
    )
    print(
        f"{'':<14}{'policies':>9}{'types':>7}{'status':>11}{'resources':>10}{'violations':>11}"
        f"{'wall s':>8}{'CPU s':>8}{'calls':>7}{'calls/res':>10}"
    )
    for label, row in rows:
        print(
            f"{label:<14}{row['policies']:>9}{row['types']:>7}{row['status']:>11}{row['resources']:>10}"
            f"{row['violations']:>11}{row['wall']:>8.2f}{row['cpu']:>8.2f}{row['calls']:>7}"
            f"{row['calls'] / max(1, row['resources']):>10.2f}"
        )
    for (_, before), (_, after), kind in ((rows[0], rows[2], "first scans"), (rows[1], rows[3], "warm scans")):
        print(
            f"{kind}, after/before: policies {after['policies'] / before['policies']:.1f}x, resources "
            f"{after['resources'] / max(1, before['resources']):.1f}x, wall {after['wall'] / before['wall']:.2f}x, "
            f"CPU {after['cpu'] / max(0.01, before['cpu']):.2f}x, calls {after['calls'] / max(1, before['calls']):.2f}x"
        )


if __name__ == "__main__":
    main()
