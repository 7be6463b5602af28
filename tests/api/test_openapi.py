"""GET /v1/openapi.json: a valid OpenAPI 3 document covering every /v1 route, its success answers
and its errors, that accepts every example of the API reference as it is written."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

# The API reference is our contract: the team's copy beside the repository when there is one, and
# otherwise the copy kept in tests/reference (a clean clone in CI has only that one).
SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "scans-api-reference.txt"
VENDORED = Path(__file__).resolve().parents[1] / "reference" / "scans-api-reference.txt"
REFERENCE = SPEC if SPEC.exists() else VENDORED


@pytest.fixture()
def spec(client) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # schema names must not collide
        response = client.get("/v1/openapi.json")  # public: no key needed to read the contract
    assert response.status_code == 200
    return response.get_json()


def test_document_is_valid_and_complete(app, spec):
    validate(spec)
    documented = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/") and rule.endpoint != "openapi_public":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented, (path, method)
    trigger = spec["paths"]["/v1/scans"]["post"]
    assert "202" in trigger["responses"] and "429" in trigger["responses"] and "400" in trigger["responses"]
    body = trigger["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][body]["required"]) == {
        "name",
        "scan_type",
        "environment",
        "cloud_providers",
    }
    assert spec["paths"]["/v1/scans"]["get"]["parameters"]  # the list filters are documented
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {
        "error",
        "error_description",
        "error_code",
        "timestamp",
    }
    assert "security" not in spec["paths"]["/v1/scans/schedules/{schedule_id}/webhook"]["post"]
    assert spec["paths"]["/v1/scans"]["post"]["responses"]["429"]["headers"]["Retry-After"]["required"]


def test_every_success_answer_has_a_schema(spec):
    """Every operation says what its success body looks like, except empty 204s and the websocket."""
    missing, empty = [], []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            successes = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
            assert successes, (method, path)
            for code, answer in successes.items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if code == "204":
                    empty.append((method, path))
                    assert "content" not in answer
                elif schema is None and not path.endswith(("/stream", "/evidence")):  # a websocket, a download
                    missing.append((method, path, code))
            for code, answer in operation["responses"].items():
                if not code.startswith("2"):
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert missing == []
    assert ("delete", "/v1/accounts/{account_id}") in empty and ("delete", "/v1/scans/{scan_id}") not in empty
    # Nullable fields say so (apispec writes marshmallow's allow_none as nullable).
    details = spec["components"]["schemas"]["ScanDetails"]["properties"]
    assert details["completed_at"]["nullable"] and "nullable" not in details["id"]


def _reference_examples() -> list[tuple[str, str, str | None, dict]]:
    """Every JSON example of the reference, in order, as (method, URL path, status, body): the curl
    command before it names the operation; a body after `-d '` is a request (status None); an
    example under an error heading (`429 Rate Limited`) is that error's body."""
    text = REFERENCE.read_text()
    decoder, examples, position = json.JSONDecoder(), [], 0
    while (start := text.find("{", position)) >= 0:
        body, position = decoder.raw_decode(text, start)
        before = text[:start]
        method, url = re.findall(r'curl -X (\w+) "https?://[^/"]+(/[^"?]*)', before)[-1]
        error = re.search(r"\b(\d{3}) [A-Z][A-Za-z ]+\n[^\n{]*$", before)
        status = error.group(1) if error else (None if before.endswith("-d '") else "2xx")
        examples.append((method.lower(), url, status, body))
    return examples


def _operation(spec: dict, method: str, url: str) -> dict:
    """The documented operation a concrete URL reaches: literal segments win over parameters."""
    candidates = [
        path
        for path, operations in spec["paths"].items()
        if method in operations and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), url)
    ]
    assert candidates, (method, url)
    return spec["paths"][min(candidates, key=lambda path: path.count("{"))][method]


def _validator(spec: dict, schema: dict) -> OAS30Validator:
    return OAS30Validator({**schema, "components": spec["components"]}, format_checker=OAS30Validator.FORMAT_CHECKER)


@pytest.mark.skipif(not SPEC.exists(), reason="the team's API reference (../shared/spec) is not beside the repo")
def test_the_kept_copy_of_the_reference_is_current():
    assert VENDORED.read_text() == SPEC.read_text()


def test_reference_examples_validate_against_the_document(spec):
    examples = _reference_examples()
    assert [(method, status) for method, _, status, _ in examples] == [
        ("get", "2xx"),  # list scans
        ("get", "2xx"),  # scan details
        ("post", None),  # trigger: request
        ("post", "2xx"),  # trigger: answer
        ("delete", "2xx"),  # cancel
        ("post", None),  # schedule: request
        ("post", "400"),  # errors, shown under the last operation
        ("post", "429"),
    ]
    for method, url, status, body in examples:
        operation = _operation(spec, method, url)
        if status is None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
        else:
            codes = [code for code in operation["responses"] if code.startswith("2")] if status == "2xx" else [status]
            assert len(codes) == 1, (method, url, codes)
            schema = operation["responses"][codes[0]]["content"]["application/json"]["schema"]
        problems = [error.message for error in _validator(spec, schema).iter_errors(body)]
        assert problems == [], (method, url, status)


def test_document_rejects_what_the_code_never_renders(spec):
    """The response schemas are closed and typed: a check that they can fail."""
    details = {"$ref": "#/components/schemas/ScanDetails"}
    example = _reference_examples()[1][3]
    assert _validator(spec, details).is_valid(example)
    assert not _validator(spec, details).is_valid({**example, "undocumented": 1})
    assert not _validator(spec, details).is_valid({**example, "status": "finished"})
    assert not _validator(spec, details).is_valid({**example, "started_at": "yesterday"})
    assert not _validator(spec, details).is_valid({key: value for key, value in example.items() if key != "progress"})


def test_the_upload_mode_and_the_webhook_signature_are_documented(client):
    document = client.get("/v1/openapi.json").get_json()
    upload = document["paths"]["/v1/accounts/{account_id}/inventory"]["post"]["parameters"]
    assert {"in": "query", "name": "mode"}.items() <= next(p for p in upload if p["name"] == "mode").items()
    webhook = document["paths"]["/v1/scans/schedules/{schedule_id}/webhook"]["post"]["parameters"]
    assert {p["name"] for p in webhook if p["in"] == "header"} == {
        "X-PolicyCortex-Timestamp",
        "X-PolicyCortex-Signature",
    }
