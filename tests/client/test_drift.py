"""policycortex_client cannot drift from the API: its operations table is checked against the
OpenAPI document the app serves (GET /v1/openapi.json), both ways, for the groups it covers."""

from __future__ import annotations

import inspect
import re

import pytest
from policycortex_client import client as client_module
from policycortex_client.operations import OPERATIONS

# The paths whose every operation the client must offer (the evidence pack is a report, under /v1/scans).
COVERED = ("/v1/scans", "/v1/accounts", "/v1/findings", "/v1/mute-rules")
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _parameters(document: dict, path: str, method: str, where: str) -> set[str]:
    item = document["paths"][path]
    declared = [*item.get("parameters", []), *item[method].get("parameters", [])]
    return {p["name"] for p in declared if p["in"] == where}


def _covered(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in COVERED)


def test_every_client_operation_is_in_the_document(document):
    missing = [
        f"{name}: {op.method} {op.path}"
        for name, op in OPERATIONS.items()
        if op.method.lower() not in document["paths"].get(op.path, {})
    ]
    assert missing == []


def test_the_client_sends_only_declared_parameters(document):
    undeclared = []
    for name, op in OPERATIONS.items():
        method = op.method.lower()
        if method not in document["paths"].get(op.path, {}):
            continue  # reported by the test above
        undeclared += [f"{name}: ?{q}" for q in set(op.query) - _parameters(document, op.path, method, "query")]
        undeclared += [f"{name}: {h}:" for h in set(op.headers) - _parameters(document, op.path, method, "header")]
        path_names = set(re.findall(r"{(\w+)}", op.path))
        if path_names != _parameters(document, op.path, method, "path"):
            undeclared.append(f"{name}: path parameters {sorted(path_names)}")
    assert sorted(undeclared) == []


def test_every_operation_of_the_covered_groups_has_a_client_method(document):
    offered = {(op.method.lower(), op.path) for op in OPERATIONS.values()}
    uncovered = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        if _covered(path)
        for method in item
        if method in METHODS and (method, path) not in offered
    ]
    assert uncovered == []


def test_every_operation_of_the_table_is_called_by_a_method():
    """A table row no method uses would pass the checks above while the client calls something else."""
    source = inspect.getsource(client_module)
    unused = [name for name in OPERATIONS if f'"{name}"' not in source]
    assert unused == []


def test_the_checks_catch_a_drift(document):
    """The comparison itself: a parameter the document lacks, and a path it does not have."""
    assert "sort" not in _parameters(document, "/v1/scans", "get", "query")
    assert "limit" in _parameters(document, "/v1/scans", "get", "query")
    assert "/v1/scans/{scan_id}/pause" not in document["paths"]
    assert _covered("/v1/scans/schedules/{schedule_id}") and not _covered("/v1/scansx")
