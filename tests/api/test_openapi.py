"""GET /v1/openapi.json: a valid OpenAPI 3 document covering every /v1 route and its errors."""

from __future__ import annotations

import re
import warnings

from openapi_spec_validator import validate


def test_document_is_valid_and_complete(app, client):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # schema names must not collide
        response = client.get("/v1/openapi.json")  # public: no key needed to read the contract
    assert response.status_code == 200
    spec = response.get_json()
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
