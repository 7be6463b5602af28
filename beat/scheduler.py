"""RedBeat, made to outlive a Redis restart. Stock RedBeat exits when it cannot extend a lock that
Redis forgot (LockNotOwnedError), and with Redis went every entry: until someone restarts beat, no
schedule fires. This scheduler takes its lock again (waiting, as a standby does, if another beat got
it first), writes the static entries back and reconciles the schedules from PostgreSQL."""

from __future__ import annotations

import logging

from redbeat import RedBeatScheduler
from redis.exceptions import LockNotOwnedError

from shared.schedules.redbeat import reconcile

log = logging.getLogger(__name__)


class Scheduler(RedBeatScheduler):
    def tick(self, *args, **kwargs):
        try:
            return super().tick(*args, **kwargs)
        except LockNotOwnedError:
            log.warning("RedBeat's lock is gone (Redis restarted or flushed): taking it again")
            self.lock.acquire()  # blocks while another beat holds it: this one is then the standby
            self.setup_schedule()
            report = reconcile(self.app.services)
            log.warning("beat restored its static entries and reconciled the schedules: %s", report)
            return 0  # tick again at once: entries may be due
