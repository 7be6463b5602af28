"""The README's walkthrough, run as written: its one shell block, from `make up` to `make down`,
against the local AWS endpoint it starts, with only the ports, the database, Redis and the run
directory pointed at this test's own (so a developer's `make up` is left alone)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- walkthrough.*?-->\n```sh\n(.*?)```\n<!-- /walkthrough -->", re.S)
WRITTEN = ("aws-credentials.json", "scan.json", "report.html")  # what the walkthrough leaves in the clone


def walkthrough() -> str:
    found = MARKER.search((ROOT / "README.md").read_text())
    assert found, "README.md holds the walkthrough between its markers"
    return found.group(1)


def test_the_walkthrough_block_is_what_a_newcomer_needs():
    block = walkthrough()
    for step in ("make up", "apikey create", "accounts add", 'curl -s -X POST "$POLICYCORTEX_URL/v1/scans"',
                 "scans watch", "reports get", "make down"):  # fmt: skip
        assert step in block, step
    assert "POLICYCORTEX_OUTBOUND_ALLOWLIST" in block.split("make up")[0], "the allowlist comes before make up"


def test_the_readme_walkthrough_runs_as_written(settings, database, tmp_path):
    api, aws = free_port(), free_port()
    run = tmp_path / "run"
    script = (
        walkthrough()
        .replace("make up", f"make up API_BIND=127.0.0.1:{api} RUN={run}")
        .replace("make down", f"make down RUN={run}")
        .replace("127.0.0.1:8000", f"127.0.0.1:{api}")
        .replace("--port 5000", f"--port {aws}")
        .replace("127.0.0.1:5000", f"127.0.0.1:{aws}")
    )
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
    }
    for name in WRITTEN:
        (ROOT / name).unlink(missing_ok=True)
    log = tmp_path / "walkthrough.log"
    try:
        # Output to a file, not a pipe: a background job left by a failed step would hold a pipe open.
        with log.open("w") as out:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, stdout=out, stderr=out, timeout=600
            )
        output = log.read_text()
        assert done.returncode == 0, output[-5000:]
        scan = json.loads((ROOT / "scan.json").read_text())
        assert scan["id"].startswith("scan_") and scan["status"] in ("pending", "running")
        assert f"{scan['id']} completed" in output, output[-5000:]
        assert "violations         " in output and "Error" not in output, output[-5000:]
        assert (ROOT / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
        assert '"findings":[{' in output.replace(" ", "")
    finally:
        subprocess.run(["make", "down", f"RUN={run}"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        subprocess.run(["pkill", "-f", f"local-aws --port {aws}"], capture_output=True)
        for name in WRITTEN:
            (ROOT / name).unlink(missing_ok=True)
