"""Webhook channels: a signed JSON POST to the tenant's URL."""

from __future__ import annotations

import json
import time

from shared.notifications.channels.base import (
    USER_AGENT,
    ChannelType,
    DeliveryJob,
    Sent,
    _url_destination,
    channel_types,
    post_json,
)
from shared.notifications.signing import SIGNATURE_HEADER, new_webhook_secret, sign
from shared.platform.durations import iso
from shared.platform.schemas import Closed, http_url


class WebhookConfigSchema(Closed):
    url = http_url(required=True)


def webhook_body(job: DeliveryJob) -> bytes:
    document = {"id": job.public_id, "event": job.event, "created_at": iso(job.created_at), "data": job.payload}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@channel_types.register("webhook")
class WebhookChannel(ChannelType):
    """A JSON POST signed with the channel's secret (HMAC-SHA256 over "<timestamp>.<body>")."""

    schema = WebhookConfigSchema

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        secret = stored_secrets.get("secret") or new_webhook_secret()
        return {"url": config["url"], "signature": "hmac-sha256"}, {"secret": secret}

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        return {"url": public["url"]}

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        return [_url_destination("config.url", config["url"])]

    def shown_once(self, stored_secrets: dict) -> dict:
        return {"secret": stored_secrets["secret"]}

    def send(self, job: DeliveryJob) -> Sent:
        body = webhook_body(job)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-PolicyCortex-Event": job.event,
            # Receivers de-duplicate on this id: delivery is at least once.
            "X-PolicyCortex-Delivery": job.public_id,
            # Signed per attempt, so a retry hours later still passes the receiver's replay window.
            SIGNATURE_HEADER: sign(job.secrets["secret"], body, int(time.time())),
        }
        return post_json(job, job.config["url"], body, headers)
