"""Every channel type, registered: look one up here by its name (email, slack, webhook)."""

from __future__ import annotations

from shared.notifications.channels import email, slack, webhook  # noqa: F401  (they register their types)
from shared.notifications.channels.base import ChannelType, channel_types

__all__ = ["channel_type", "channel_types"]


def channel_type(name: str) -> ChannelType:
    return channel_types.get(name)()
