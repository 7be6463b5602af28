"""Schemathesis over our own OpenAPI document: generated requests to every operation, with a valid
key, never get a 5xx (bad input is the envelope's 4xx), and every answer conforms to the document:
its status code, content type, headers and body schema. The tenant holds real objects (a completed
scan of an uploaded inventory, a queued scan, a schedule, a channel, a custom policy and framework),
and half the requests to an operation on one object name a real one, so success bodies are checked
too, not only 404s. Derandomized, so CI runs are repeatable."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.schedules.triggers import EVENT_GRID_VALIDATION, sign_webhook
from shared.tenants.models import Tenant
from tests.api.test_inventory import OPEN_SSH, bucket, group
from tests.conftest import free_port, scan_body, wait_for_scan

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Reads first and deletions last: a generated DELETE or replacing upload must not empty what later
# operations read.
ORDER = {"GET": 0, "POST": 1, "PATCH": 1, "DELETE": 2}
EXAMPLES = 40  # generated requests per operation (10 before issue 15's hardening)

POLICY = {
    "id": "pol_fuzz_bucket_names",
    "title": "Bucket names carry a team prefix",
    "provider": "aws",
    "resource_type": "aws.s3.bucket",
    "severity": "low",
    "description": "Names say who owns a bucket.",
    "fails_when": {"not": {"key": "Name", "regex": "^team-"}},
    "status_extended": {"pass": "S3 bucket {name} is named by team.", "fail": "S3 bucket {name} has no team prefix."},
    "remediation": {"text": "Rename the bucket.", "effort": "1h"},
}


@pytest.fixture()
def document(app):
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", app)


@pytest.fixture()
def seeded(client, worker, svc, tenant, document) -> dict[str, dict[str, str]]:
    """Real objects of the tenant, by path parameter: those GET, POST and PATCH name, and those DELETE
    removes. Every answer while seeding is checked against the document too: it covers the success
    answers that generated requests seldom reach (creations, signed webhooks, events)."""

    def post(path: str, body, status: int, *, headers=None, **ids) -> dict:
        response = client.post(path.format(**ids), headers={**tenant.headers, **(headers or {})}, json=body)
        assert response.status_code == status, response.get_json()
        document[path]["POST"].validate_response(response)
        return response.get_json()

    account = post("/v1/accounts", {"provider": "hybrid", "name": "datacenter", "environment": "production"}, 201)
    upload = {
        "resources": [bucket("vault-a", encrypted=True), bucket("vault-b", encrypted=False), group("sg-1", [OPEN_SSH])]
    }
    post("/v1/accounts/{account_id}/inventory", upload, 202, account_id=account["id"])
    policy = post("/v1/policies", POLICY, 201)
    controls = [{"id": "B-1", "title": "Names", "policies": [policy["id"]]}]
    framework = post("/v1/frameworks", {"id": "fuzz-baseline", "name": "Fuzz baseline", "controls": controls}, 201)
    attest = {
        "status": "compliant",
        "justification": "Reviewed",
        "valid_until": datetime.fromtimestamp(time.time() + 86400 * 365, UTC).isoformat(),
        "evidence": {"url": "https://grc.example.com/1"},
    }
    path = "/v1/frameworks/{framework_id}/controls/{control_id}/attestations"
    form = {
        "attestation": json.dumps(attest),
        "file": (io.BytesIO(b"%PDF-1.7 minutes"), "minutes.pdf", "application/pdf"),
    }
    attested = client.post(
        path.format(framework_id=framework["id"], control_id="B-1"),
        data=form,
        headers=tenant.headers,
        content_type="multipart/form-data",
    )
    assert attested.status_code == 201, attested.get_json()
    document[path]["POST"].validate_response(attested)
    attestation = attested.get_json()
    body = scan_body(cloud_providers=["hybrid"], frameworks=["soc2", framework["id"]])
    completed = wait_for_scan(client, tenant, post("/v1/scans", body, 202)["id"])
    assert completed["status"] == "completed" and completed["results"]["total_violations"] > 0
    resource = client.get("/v1/resources?limit=1", headers=tenant.headers).get_json()["resources"][0]
    finding = client.get("/v1/findings?limit=1", headers=tenant.headers).get_json()["findings"][0]
    rule = post("/v1/mute-rules", {"reason": "Accepted by the data owner", "resources": ["vault-b"]}, 201)
    timing = {"cron": "0 6 * * 0", "timezone": "Europe/Berlin"}
    scan_config = {key: value for key, value in body.items() if key != "name"}
    schedule = post("/v1/scans/schedules", {"name": "Weekly", "schedule": timing, "scan_config": scan_config}, 201)
    hook = {"type": "webhook", "name": "ops", "config": {"url": f"http://127.0.0.1:{free_port()}/hook"}}
    channel = post("/v1/notifications/channels", hook, 201)
    post("/v1/notifications/channels/{channel_id}/test", None, 200, channel_id=channel["id"])  # a failed delivery
    post("/v1/events", {"detail-type": "AWS API Call via CloudTrail", "resources": ["arn:aws:s3:::vault-a"]}, 202)
    handshake = [{"eventType": EVENT_GRID_VALIDATION, "data": {"validationCode": "512d38b6"}}]
    assert post("/v1/events", handshake, 200) == {"validationResponse": "512d38b6"}
    # From here on nothing starts: scans queue (one to cancel), so the fuzzing never waits on the worker.
    with svc.db.session() as session:
        session.get(Tenant, tenant.id).max_concurrent = 0
    queued = post("/v1/scans", body, 202)
    assert queued["status"] == "pending"
    now = int(time.time())
    signed = {
        "X-PolicyCortex-Timestamp": str(now),
        "X-PolicyCortex-Signature": sign_webhook(schedule["webhook"]["secret"], b"{}", now),
    }
    fired = post("/v1/scans/schedules/{schedule_id}/webhook", {}, 202, headers=signed, schedule_id=schedule["id"])
    assert fired["run"]["status"] == "created"
    ids = {
        "scan_id": completed["id"],
        "account_id": account["id"],
        "resource_id": resource["id"],
        "schedule_id": schedule["id"],
        "channel_id": channel["id"],
        "policy_id": policy["id"],
        "framework_id": framework["id"],
        "control_id": "B-1",
        "attestation_id": attestation["id"],
        "finding_id": finding["id"],
        "rule_id": rule["id"],
    }
    return {"GET": ids, "POST": ids, "PATCH": ids, "DELETE": {**ids, "scan_id": queued["id"]}}


def _fuzz(operation, real: dict[str, str], headers: dict[str, str]) -> list[tuple[int, list[str]]]:
    """EXAMPLES derandomized requests to one operation, every other one naming real objects: the
    status of each answer and the checks it failed."""
    answers: list[tuple[int, list[str]]] = []

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def call(case):
        if case.path_parameters and len(answers) % 2 == 0:
            case.path_parameters = {name: real.get(name, value) for name, value in case.path_parameters.items()}
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
            problems = []
        except FailureGroup as failed:
            problems = [f"{failure.title}: {failure.message}" for failure in failed.exceptions]
        answers.append((response.status_code, problems))

    call()
    return answers


def test_generated_requests_get_answers_that_conform_to_the_document(document, tenant, seeded):
    operations = [result.ok() for result in document.get_all_operations()]
    statuses: Counter = Counter()
    succeeded: set[str] = set()
    failures: list[tuple[str, int, str]] = []
    for operation in sorted(operations, key=lambda op: (ORDER.get(op.method.upper(), 1), op.path)):
        if operation.path.endswith("/stream"):
            continue  # a websocket upgrade, covered by tests/api/test_stream.py
        for status, problems in _fuzz(operation, seeded[operation.method.upper()], tenant.headers):
            statuses[status] += 1
            if status < 300:
                succeeded.add(operation.label)
            failures += [(operation.label, status, problem) for problem in problems]
    assert failures == []
    assert sum(statuses.values()) > 20 * len(operations)  # hypothesis may generate fewer for small inputs
    assert statuses[400] and statuses[200] and statuses[404]  # valid, invalid and unknown objects were generated
    reads = {op.label for op in operations if op.method.upper() == "GET" and not op.path.endswith("/stream")}
    assert reads - succeeded == set()  # every read answered 200 at least once, and its body was checked
    assert {"DELETE /v1/scans/{scan_id}", "POST /v1/scans/schedules/{schedule_id}/run"} <= succeeded
