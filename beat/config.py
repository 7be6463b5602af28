"""RedBeat configuration: schedules live in Redis under their own prefix, with a lock so only one
beat fires them even when two are started."""

from __future__ import annotations

from shared.settings import Settings


def beat_settings(settings: Settings) -> dict:
    return {
        "beat_scheduler": "redbeat.RedBeatScheduler",
        "redbeat_redis_url": settings.redis_url,
        "redbeat_key_prefix": "pc:redbeat:",
        "redbeat_lock_timeout": 5 * 60,
        "beat_max_loop_interval": 5,
    }
