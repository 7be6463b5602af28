"""The Idempotency-Key header on creations (POST /v1/scans, schedules, accounts): the same key and
body within 24 hours answers the first answer again (`Idempotent-Replayed: true`); the same key
with another body is 422; a key whose first request is still running is 409."""

from __future__ import annotations

from functools import wraps

from flask import Response, make_response, request

from api.context import services, tenant_id
from api.errors import envelope
from shared.platform.idempotency import MAX_KEY_LENGTH, IdempotencyStore

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)


def idempotent(view):
    @wraps(view)
    def run(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
            return envelope(
                400,
                "invalid_request",
                "REQ_001",
                "Request validation failed",
                details=[{"field": HEADER, "message": f"1 to {MAX_KEY_LENGTH} printable ASCII characters"}],
            )
        svc = services()
        store = IdempotencyStore(svc.redis, svc.vault)
        route, tenant = request.endpoint, tenant_id()
        fingerprint = store.fingerprint(request.get_data())
        recorded = store.claim(tenant, route, key, fingerprint)
        if recorded is not None:
            if recorded.fingerprint != fingerprint:
                return envelope(
                    422,
                    "idempotency_key_reused",
                    "REQ_422",
                    "This Idempotency-Key was used with another request body",
                )
            if recorded.response is None:
                return envelope(
                    409,
                    "request_in_progress",
                    "REQ_409",
                    "A request with this Idempotency-Key is still being processed",
                    headers={"Retry-After": "1"},
                )
            replay = Response(
                recorded.response["body"], status=recorded.response["status"], mimetype="application/json"
            )
            replay.headers.update(recorded.response["headers"])
            replay.headers[REPLAYED] = "true"
            return replay
        try:
            response = make_response(view(*args, **kwargs))
        except Exception:
            store.release(tenant, route, key)
            raise
        if response.status_code >= 500 or response.status_code == 429:
            store.release(tenant, route, key)  # worth trying again: not an answer to keep
        else:
            kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
            answer = {"status": response.status_code, "body": response.get_data(as_text=True), "headers": kept}
            store.record(tenant, route, key, fingerprint, answer)
        return response

    return run
