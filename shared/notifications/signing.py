"""Signed webhooks: the X-PolicyCortex-Signature header we send, and how a receiver checks it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-PolicyCortex-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_hex(32)}"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-PolicyCortex-Signature value: `t=<unix ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, body: bytes, header: str, *, tolerance: int = SIGNATURE_TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """What a receiver does: the timestamp is recent and one v1 signature matches the body."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False  # an old signed body replayed later is refused
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
