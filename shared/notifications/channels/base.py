"""What every channel type is: its config schema, its secrets, where it connects and how it sends
one delivery; HTTP channels share one guarded POST."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit

import requests
import urllib3
from marshmallow import Schema

from shared.notifications.messages import Message, _one_line, render_message
from shared.platform.outbound import BlockedDestination, OutboundGuard, guarded_session
from shared.platform.registry import Registry
from shared.platform.settings import Settings

USER_AGENT = "PolicyCortex-Notifications/1.0"


class DeliveryError(Exception):
    """One attempt failed; `retryable` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool, response_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.response_status = response_status


@dataclass(frozen=True)
class DeliveryJob:
    """Everything one attempt needs, read from the database before the network is touched."""

    delivery_id: int
    public_id: str  # what the receiver sees (X-PolicyCortex-Delivery, the body's id)
    event: str
    created_at: datetime
    payload: dict
    config: dict  # the channel's config as a client sends it (an SMTP password, a Slack URL included)
    secrets: dict  # the channel's decrypted secrets
    settings: Settings
    guard: OutboundGuard

    @property
    def message(self) -> Message:
        return render_message(self.event, self.payload)


@dataclass(frozen=True)
class Sent:
    response_status: int | None
    note: str | None = None  # e.g. recipients an SMTP server refused while accepting others


class ChannelType:
    """A channel type: its config schema, which fields are secret, what it connects to, how it sends."""

    schema: ClassVar[type[Schema]]

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        """(what the API shows, what is encrypted) from a validated config."""
        return dict(config), {}

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        """The config as a client sends it, secrets included: what a PATCH merges into."""
        return dict(public)

    def merge(self, full: dict, patch: dict) -> dict:
        return {**full, **patch}

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        """(field, host, port) of every address this channel will connect to, for the guard."""
        return []

    def shown_once(self, stored_secrets: dict) -> dict:
        """Secrets the creation response returns, once."""
        return {}

    def send(self, job: DeliveryJob) -> Sent:
        raise NotImplementedError


channel_types: Registry[type[ChannelType]] = Registry("notification channel type")


def _url_destination(name: str, url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a stored URL from before ports were checked: its host is still checked
        port = 0
    return name, parts.hostname or "", port


def post_json(job: DeliveryJob, url: str, body: bytes, headers: Mapping[str, str]) -> Sent:
    """POST one body; 2xx is delivered, 5xx/408/429 and network errors are worth retrying."""
    host = urlsplit(url).hostname
    try:
        job.guard.check_url(url)
        with guarded_session(job.guard) as http:
            # Redirects are not followed: the guard approved this URL, not wherever it points next.
            # Streamed, so an endpoint answering with a huge body costs us only the bytes we read.
            response = http.post(
                url,
                data=body,
                headers=dict(headers),
                timeout=job.settings.notify_timeout,
                allow_redirects=False,
                stream=True,
            )
            status, snippet = response.status_code, b""
            if not 200 <= status < 300:
                # Best effort: the status decides the outcome, the body only explains it.
                with suppress(urllib3.exceptions.HTTPError, OSError):
                    snippet = response.raw.read(200, decode_content=True)
            response.close()
    except BlockedDestination as exc:
        raise DeliveryError(f"Refused: {exc}", retryable=False) from None
    except requests.Timeout:
        raise DeliveryError(f"Timed out after {job.settings.notify_timeout}s at {host}", retryable=True) from None
    except requests.RequestException as exc:
        raise DeliveryError(f"Could not connect to {host} ({type(exc).__name__})", retryable=True) from None
    if 200 <= status < 300:
        return Sent(status)
    snippet = _one_line(snippet.decode(errors="replace"))
    retryable = status >= 500 or status in (408, 425, 429)
    raise DeliveryError(
        f"HTTP {status} from {host}: {snippet}".rstrip(": "), retryable=retryable, response_status=status
    )
