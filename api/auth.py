"""Bearer API keys on every /v1 route: read scope for reads, write scope for changes."""

from __future__ import annotations

from flask import Flask, g, request

from api.context import services
from api.errors import envelope
from api.limits import FailedAuthentication
from shared.platform.settings import Settings
from shared.tenants.apikeys import authenticate

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def unauthorized():
    return envelope(
        401,
        "invalid_api_key",
        "AUTH_001",
        "A valid API key is required: Authorization: Bearer sk_live_...",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(scope: str):
    return envelope(403, "insufficient_scope", "AUTH_002", f"The API key lacks the '{scope}' scope")


def too_many_failures(retry_after: int):
    return envelope(
        429,
        "rate_limited",
        "REQ_429",
        "Too many requests without a valid API key from this address",
        headers={"Retry-After": str(retry_after)},
    )


def register_auth(app: Flask, settings: Settings) -> None:
    failures = app.extensions["policycortex_auth_failures"] = FailedAuthentication(settings)

    @app.before_request
    def _authenticate():
        if not request.path.startswith("/v1/") or getattr(request.url_rule, "endpoint", "").endswith("_public"):
            return None
        retry_after = failures.exhausted()
        if retry_after is not None:
            return too_many_failures(retry_after)
        key = presented_key()
        principal = None
        if key is not None:
            with services().db.session() as session:
                principal = authenticate(session, key)
        if principal is None:
            failures.record()
            return unauthorized()
        g.principal = principal
        scope = "read" if request.method in READ_METHODS else "write"
        if scope not in principal.scopes and "admin" not in principal.scopes:
            return forbidden(scope)
        return None
