"""Request rate limits (counters in Redis shared by every API process) and the security headers
every response carries.

- Per API key, over every route together (POLICYCORTEX_RATE_LIMIT): one key cannot multiply its
  budget by spreading over routes.
- Per client address for requests that present no valid key (POLICYCORTEX_AUTH_FAILURE_LIMIT):
  guessing keys is slow, and an unknown token creates no state of its own (the counter is the
  address's, not the token's).
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_limiter import Limiter
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from shared.platform.settings import Settings

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
KEY_PREFIX = "pc:ratelimit"
EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics")
# The websocket stream authenticates after the upgrade, where it counts failed keys per address
# itself; its streams are capped per tenant (api/stream.py), not per request.
EXEMPT_ENDPOINTS = ("stream.scan_stream_public",)


def _caller() -> str:
    """An authenticated request counts against its key (by id), anything else against its address."""
    from flask import g

    principal = getattr(g, "principal", None)
    return f"key:{principal.key_id}" if principal else f"ip:{request.remote_addr}"


class FailedAuthentication:
    """Requests without a valid key, counted per client address in a moving window."""

    def __init__(self, settings: Settings):
        self.limit = parse(settings.auth_failure_limit)
        self.window = MovingWindowRateLimiter(storage_from_string(settings.redis_url, key_prefix=KEY_PREFIX))

    def exhausted(self) -> int | None:
        """Seconds until the address may try again, or None while it may."""
        try:
            if self.window.test(self.limit, "auth-failures", request.remote_addr or "unknown"):
                return None
        except RedisError:  # Redis down: keys are still checked, the limit is not
            return None
        return self.limit.get_expiry()

    def record(self) -> None:
        try:
            self.window.hit(self.limit, "auth-failures", request.remote_addr or "unknown")
        except RedisError:
            log.warning("could not count a failed authentication: Redis unavailable")


def init_limits(app: Flask, settings: Settings) -> Limiter:
    """After authentication: the limit then knows which key a request uses."""
    limiter = Limiter(
        key_func=_caller,
        app=app,
        application_limits=[settings.rate_limit],
        application_limits_exempt_when=lambda: request.path in EXEMPT_PATHS or request.endpoint in EXEMPT_ENDPOINTS,
        storage_uri=settings.redis_url,
        key_prefix=KEY_PREFIX,
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
