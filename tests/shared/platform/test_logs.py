"""JSON logs: every line of an API request carries its request id and tenant, every line of a task
its task, scan, shard and tenant ids; credentials, API keys and encrypted secrets never appear, even
with the AWS SDK logging every signed request; the worker and beat entry points log the same JSON."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from devkit.estates import DEMO_POLICIES, seed_demo_estate
from shared.accounts.models import CloudAccount
from shared.platform.logs import QUIET_LOGGERS, REDACTED, bind, bound, configure_logging, unbind
from tests.conftest import scan_body, wait_for_scan

REPO = Path(__file__).resolve().parents[3]
log = logging.getLogger("tests.logs")


@pytest.fixture()
def captured():
    """The root logger configured as every entry point configures it, into a buffer; restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:], level, quiet = saved
    root.setLevel(level)
    for name, previous in quiet.items():
        logging.getLogger(name).setLevel(previous)


def last(lines: list[dict]) -> dict:
    return lines[-1]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("calling with key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
        ("key sk_test_abc_DEF-123 refused", "abc_DEF-123"),
        ("Authorization: Bearer 0a1b2c3d4e5f", "0a1b2c3d4e5f"),
        ("headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAX/2024, Signature=f00d'}", "f00d"),
        ("stored gAAAAABm3Jx8dGhpcy1pcy1hLWZlcm5ldC10b2tlbg== in the row", "dGhpcy1pcy1hLWZlcm5ldC10b2tlbg"),
        ("access key AKIAIOSFODNN7EXAMPLE denied", "AKIAIOSFODNN7EXAMPLE"),
        ("broker redis://:hunter2@cache:6379/0 down", "hunter2"),
        ("post to https://hooks.slack.com/services/T000/B000/XXXXSECRET failed", "XXXXSECRET"),
        ("{'secret_access_key': 'wJalrXUtnFEMI/K7MDENG', 'region': 'eu'}", "wJalrXUtnFEMI/K7MDENG"),
        ('{"client_secret": "with \\"quotes\\" inside", "x": 1}', "quotes"),
        ("login password=pa55word; next", "pa55word"),
        ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBAD\\n-----END PRIVATE KEY-----\\n"}', "MIIEvQIBAD"),
    ],
)
def test_secrets_in_messages_are_redacted(captured, text, secret):
    log.warning("%s", text)
    line = last(captured())
    assert secret not in json.dumps(line) and REDACTED in line["message"]


def test_secret_fields_in_extra_and_exceptions_are_redacted(captured):
    credentials = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalrXUtnFEMI"}
    log.info("account saved", extra={"credentials": credentials, "data": {"webhook_secret": "s3", "region": "eu"}})
    line = last(captured())
    assert line["credentials"] == REDACTED and line["data"] == {"webhook_secret": REDACTED, "region": "eu"}
    try:
        raise ValueError(f"bad answer for {credentials}")
    except ValueError:
        log.exception("call failed")
    line = last(captured())
    assert "wJalrXUtnFEMI" not in line["exception"] and "AKIAIOSFODNN7EXAMPLE" not in line["exception"]
    assert line["exception"].startswith("Traceback") and line["level"] == "ERROR"


def test_ordinary_text_is_left_alone(captured):
    message = "shard 12 of scan_abc listed 40 aws.s3.bucket in us-east-1; token expired, retrying"
    log.info(message, extra={"resources_scanned": 40, "ok": True})
    line = last(captured())
    assert line["message"] == message and line["resources_scanned"] == 40 and line["ok"] is True


def test_bound_ids_go_on_every_line_and_explicit_ids_win(captured):
    token = bind(scan_id="scan_1", tenant_id="ten_1")
    inner = bind(shard_id=7)
    log.info("one")
    log.info("two", extra={"scan_id": "scan_explicit"})
    unbind(inner)
    log.info("three")
    unbind(token)
    log.info("four")
    one, two, three, four = captured()[-4:]
    assert (one["scan_id"], one["shard_id"], one["tenant_id"]) == ("scan_1", 7, "ten_1")
    assert two["scan_id"] == "scan_explicit" and two["tenant_id"] == "ten_1"
    assert three["scan_id"] == "scan_1" and "shard_id" not in three
    assert not {"scan_id", "tenant_id"} & set(four) and bound() == {}


def test_request_lines_carry_request_id_and_tenant(client, tenant, captured):
    response = client.get("/v1/scans", headers={**tenant.headers, "X-Request-ID": "lb-7f3a.2"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "lb-7f3a.2"
    forged = client.get("/v1/scans", headers={**tenant.headers, "X-Request-ID": 'x", "tenant_id": "other'})
    generated = forged.headers["X-Request-ID"]
    assert len(generated) == 32 and all(c in string.hexdigits for c in generated)
    refused = client.get("/v1/scans")  # no key: no tenant, still a request id

    access = [line for line in captured() if line["logger"] == "policycortex.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["lb-7f3a.2"]["tenant_id"] == tenant.id
    assert by_id["lb-7f3a.2"]["route"] == "/v1/scans" and by_id["lb-7f3a.2"]["status"] == 200
    assert by_id[generated]["tenant_id"] == tenant.id
    unauthenticated = by_id[refused.headers["X-Request-ID"]]
    assert unauthenticated["status"] == 401 and "tenant_id" not in unauthenticated


def test_scan_lines_carry_ids_and_no_credential_ever(client, worker, svc, tenant, make_account, moto, captured):
    seed_demo_estate(moto, regions=("us-east-1",))
    access_key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret_key = secrets.token_urlsafe(30)
    # The AWS SDK at DEBUG logs every signed request (the Authorization header names the access key).
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    account = make_account(
        tenant,
        endpoint_url=moto,
        regions=("us-east-1",),
        credentials={"access_key_id": access_key, "secret_access_key": secret_key},
    )
    # Auto-remediation: scan-finalize calls AWS with the account's credentials as well.
    body = scan_body(scope={"include_policies": list(DEMO_POLICIES)}, remediation={"auto_remediate": True})
    created = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert created.status_code == 202, created.get_json()
    scan_id = created.get_json()["id"]
    assert wait_for_scan(client, tenant, scan_id)["status"] == "completed"
    with svc.db.session() as session:
        stored = session.scalar(select(CloudAccount.credentials_encrypted).where(CloudAccount.id == account["id"]))

    lines = captured()
    text = "\n".join(json.dumps(line) for line in lines)
    assert "botocore" in {line["logger"].split(".")[0] for line in lines}  # the SDK did log its requests
    for secret in (access_key, secret_key, tenant.key, tenant.key.split("_")[-1], stored.decode()):
        assert secret not in text

    tasks = [line for line in lines if line.get("scan_id") == scan_id and "task" in line]
    assert {line["task"] for line in tasks} >= {"scan-plan", "scan-shard", "scan-finalize"}
    for line in tasks:
        assert line["tenant_id"] == tenant.id and line["task_id"], line
        if line["task"] == "scan-shard":
            assert isinstance(line["shard_id"], int), line
    sdk = [line for line in lines if line["logger"].startswith("botocore") and line.get("scan_id") == scan_id]
    assert {line["task"] for line in sdk} >= {"scan-shard", "scan-finalize"}  # library lines get the ids too


WORKER_LOGS = """
import logging, sys
from workers.main import app
app.log.setup(loglevel="WARNING", logfile=sys.argv[1])  # what `celery worker` and `celery beat` do
logging.getLogger("celery.worker").info("consumer ready, key sk_live_abcdefabcdef")
logging.getLogger("celery.beat").warning("beat: Starting...")
"""


def test_worker_and_beat_log_json_into_their_logfile(settings, tmp_path):
    logfile = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
        "POLICYCORTEX_LOG_LEVEL": "INFO",
    }
    subprocess.run([sys.executable, "-c", WORKER_LOGS, str(logfile)], env=env, cwd=REPO, check=True)
    lines = [json.loads(line) for line in logfile.read_text().splitlines()]
    # POLICYCORTEX_LOG_LEVEL rules (INFO shows), and secrets are scrubbed here as everywhere.
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("celery.worker", f"consumer ready, key sk_live_{REDACTED}"),
        ("celery.beat", "beat: Starting..."),
    ]
