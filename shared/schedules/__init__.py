"""Schedules: cron in a time zone, their RedBeat entries, and the triggers (resource changes, policy
updates, drift, signed webhooks) that also run them."""
