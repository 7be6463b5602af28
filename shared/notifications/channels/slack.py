"""Slack channels: an incoming webhook whose URL is the credential."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from shared.notifications.channels.base import (
    USER_AGENT,
    ChannelType,
    DeliveryJob,
    Sent,
    _url_destination,
    channel_types,
    post_json,
)
from shared.notifications.messages import slack_body
from shared.platform.schemas import Closed, http_url


class SlackConfigSchema(Closed):
    webhook_url = http_url(required=True)


def redact_url(url: str) -> str:
    """The URL without its last path segment (where Slack puts the token), query or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    head = parts.path.rstrip("/").rpartition("/")[0]
    return f"{parts.scheme}://{netloc}{head}/********"


@channel_types.register("slack")
class SlackChannel(ChannelType):
    """A Slack incoming webhook. Its URL is the credential, so only a redacted form is shown."""

    schema = SlackConfigSchema

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        return {"webhook_url": redact_url(config["webhook_url"])}, {"webhook_url": config["webhook_url"]}

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        return {"webhook_url": stored_secrets.get("webhook_url")}

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        return [_url_destination("config.webhook_url", config["webhook_url"])]

    def send(self, job: DeliveryJob) -> Sent:
        body = json.dumps(slack_body(job.message)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        return post_json(job, job.config["webhook_url"], body, headers)
