"""RedBeat configuration and the schedule machinery around it."""
