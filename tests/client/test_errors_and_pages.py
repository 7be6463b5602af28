"""policycortex_client without a server: the envelope as typed errors, the query it sends, and
the list iterators over offset and cursor pages."""

from __future__ import annotations

import pytest
from policycortex_client import errors
from policycortex_client.client import Client
from policycortex_client.errors import (
    Conflict,
    ConnectionFailed,
    Forbidden,
    Gone,
    InvalidRequest,
    NotFound,
    PolicyCortexError,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    error_for,
)
from policycortex_client.pagination import cursor_items, offset_items

from tests.conftest import free_port

INVALID = {
    "error": "invalid_scan_config",
    "error_description": "Scan configuration validation failed",
    "error_code": "SCAN_001",
    "details": [{"field": "cloud_providers", "message": "At least one cloud provider must be specified"}],
    "timestamp": "2024-01-21T15:00:00Z",
}
LIMITED = {
    "error": "scan_limit_exceeded",
    "error_description": "Maximum concurrent scans exceeded",
    "error_code": "SCAN_002",
    "current_scans": 10,
    "max_concurrent": 10,
    "retry_after": 900,
    "timestamp": "2024-01-21T15:00:00Z",
}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (413, InvalidRequest),
        (415, InvalidRequest),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, Unavailable),
        (418, PolicyCortexError),
    ],
)
def test_each_status_has_its_error_class(status, cls):
    exc = error_for(status, {"error": "e", "error_code": "X_1", "error_description": "d"})
    assert type(exc) is cls and exc.status == status and exc.error_code == "X_1"
    assert isinstance(exc, PolicyCortexError)


def test_the_envelope_is_carried_and_printed_on_one_line():
    exc = error_for(400, INVALID)
    assert (exc.error, exc.error_code, exc.description) == (
        "invalid_scan_config",
        "SCAN_001",
        "Scan configuration validation failed",
    )
    assert exc.details == INVALID["details"] and exc.body == INVALID
    assert exc.field_messages() == {"cloud_providers": "At least one cloud provider must be specified"}
    assert str(exc) == (
        "SCAN_001 invalid_scan_config: Scan configuration validation failed "
        "(cloud_providers: At least one cloud provider must be specified)"
    )


def test_retry_after_from_the_envelope_or_the_header():
    limited = error_for(429, LIMITED, {"Retry-After": "5"})
    assert limited.retry_after == 900  # the envelope's own figure
    assert str(limited).endswith("; retry after 900s")
    outage = error_for(503, {"error": "service_unavailable", "error_code": "SRV_503"}, {"Retry-After": "5"})
    assert isinstance(outage, ServerError) and outage.retry_after == 5
    assert error_for(429, None, {}).retry_after is None


def test_an_answer_that_is_not_the_envelope_still_has_its_status():
    exc = error_for(502, "<html>bad gateway</html>")
    assert isinstance(exc, ServerError) and exc.status == 502 and exc.error_code is None
    assert str(exc) == "HTTP 502" and exc.details == []


def test_an_unreachable_server_is_connection_failed(monkeypatch):
    client = Client(f"http://127.0.0.1:{free_port()}", "sk_live_x", timeout=2)
    with pytest.raises(ConnectionFailed, match="cannot reach http://127.0.0.1:") as raised:
        client.scans.get("scan_0000000000000000")
    assert raised.value.status is None
    with pytest.raises(ConnectionFailed) as raised:
        list(client.scans.stream("scan_0000000000000000"))
    assert raised.value.error_code == "WS_CONNECT"


def test_url_and_key_come_from_the_environment_when_not_given(monkeypatch):
    monkeypatch.setenv("POLICYCORTEX_URL", "http://api.example:8000/")
    monkeypatch.setenv("POLICYCORTEX_API_KEY", "sk_live_env")
    client = Client()
    assert client.base_url == "http://api.example:8000"
    assert client.http.session.headers["Authorization"] == "Bearer sk_live_env"
    assert Client("http://other:1", "sk_live_arg").http.session.headers["Authorization"] == "Bearer sk_live_arg"
    monkeypatch.delenv("POLICYCORTEX_URL")
    monkeypatch.delenv("POLICYCORTEX_API_KEY")
    assert Client().base_url == "http://127.0.0.1:8000" and "Authorization" not in Client().http.session.headers


def test_a_parameter_the_operation_does_not_declare_is_refused_before_sending():
    client = Client(f"http://127.0.0.1:{free_port()}", "sk_live_x")
    with pytest.raises(TypeError, match="scans.list takes no parameter sort"):
        client.scans.page(sort="name")
    with pytest.raises(TypeError, match="findings.list takes no parameter offset"):
        next(client.findings.list(offset=10))


class Pages:
    """A list of `total` items served `limit` at a time, recording each request's parameters."""

    def __init__(self, total: int):
        self.items = list(range(total))
        self.asked: list[dict] = []

    def by_offset(self, **params):
        self.asked.append(params)
        offset, limit = params["offset"], params.get("limit", 2)
        items = self.items[offset : offset + limit]
        has_more = offset + len(items) < len(self.items)
        return {
            "things": items,
            "pagination": {"total": len(self.items), "limit": limit, "offset": offset, "has_more": has_more},
        }

    def by_cursor(self, **params):
        self.asked.append(params)
        start, limit = int(params.get("cursor", 0)), params.get("limit", 2)
        items = self.items[start : start + limit]
        after = start + len(items)
        more = after < len(self.items)
        return {
            "things": items,
            "pagination": {"limit": limit, "has_more": more, "next_cursor": str(after) if more else None},
        }


def test_offset_iterator_reads_every_page_lazily():
    pages = Pages(5)
    iterator = offset_items(pages.by_offset, "things", {"limit": 2, "status": "completed"})
    assert next(iterator) == 0 and len(pages.asked) == 1  # one request until the page is read
    assert [0, *iterator] == [0, 1, 2, 3, 4]
    assert [p["offset"] for p in pages.asked] == [0, 2, 4]
    assert all(p["status"] == "completed" and p["limit"] == 2 for p in pages.asked)
    assert list(offset_items(Pages(5).by_offset, "things", {"limit": 2, "offset": 3})) == [3, 4]
    assert list(offset_items(Pages(0).by_offset, "things", {})) == []


def test_offset_iterator_stops_on_an_empty_page_that_claims_more():
    def liar(**params):
        return {"things": [], "pagination": {"total": 9, "limit": 2, "offset": params["offset"], "has_more": True}}

    assert list(offset_items(liar, "things", {})) == []


def test_cursor_iterator_follows_next_cursor():
    pages = Pages(5)
    assert list(cursor_items(pages.by_cursor, "things", {"limit": 2, "severity": "high"})) == [0, 1, 2, 3, 4]
    assert [p.get("cursor") for p in pages.asked] == [None, "2", "4"]
    assert all(p["severity"] == "high" for p in pages.asked)


def test_stream_closes_that_say_why_are_the_http_errors_too():
    assert issubclass(errors.StreamNotFound, NotFound) and issubclass(errors.StreamNotFound, errors.StreamClosed)
    assert issubclass(errors.StreamUnavailable, Unavailable)
    closed = errors.StreamNotFound("stream closed (4404): scan not found", close_code=4404)
    assert closed.error_code == "WS_4404" and str(closed) == "stream closed (4404): scan not found"
