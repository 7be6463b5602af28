"""Request rate limits per API key (flask-limiter, counters in Redis shared by every API process)
and the security headers every response carries."""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

from api.auth import presented_key
from shared.platform.settings import Settings
from shared.tenants.apikeys import hash_key

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _caller() -> str:
    """Limits follow the key (hashed: the key itself never becomes a Redis key), else the address."""
    key = presented_key()
    return f"key:{hash_key(key)[:32]}" if key else f"ip:{request.remote_addr}"


def init_limits(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        key_func=_caller,
        app=app,
        default_limits=[settings.rate_limit],
        default_limits_exempt_when=lambda: request.path in ("/healthz", "/readyz", "/metrics"),
        storage_uri=settings.redis_url,
        key_prefix="pc:ratelimit",
        strategy="moving-window",
        # Off: flask-limiter would stamp its own Retry-After on every response, 503s and the
        # admission 429 included; the envelope of its 429 carries one instead (api/errors.py).
        headers_enabled=False,
        # Redis down must not turn every request into a 500; the admission limits still hold.
        swallow_errors=True,
    )

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    return limiter
