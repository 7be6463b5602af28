"""Durations and timestamps as the API reference writes them: "45m32s", "1h", "14.5h",
"2024-01-21T08:00:00Z"."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """Seconds in a duration such as "1h", "90m", "1h30m", "45m32s"; ValueError when malformed."""
    if not isinstance(text, str) or not text:
        raise ValueError("expected a duration such as '1h', '30m' or '45m32s'")
    text = text.strip().lower()
    position, total, seen = 0, 0.0, set()
    for match in _PART.finditer(text):
        if match.start() != position or match.group(2) in seen:
            break
        seen.add(match.group(2))
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not seen:
        raise ValueError(f"'{text}' is not a duration such as '1h', '30m' or '45m32s'")
    return int(round(total))


def format_duration(seconds: float) -> str:
    """Exact elapsed time: 2732 -> "45m32s", 3600 -> "1h0m0s", 5 -> "5s"."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def format_estimate(seconds: float) -> str:
    """A forecast, rounded up to whole minutes: 1490 -> "25m", 4000 -> "1h7m"."""
    minutes = max(1, math.ceil(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def format_effort(minutes: float) -> str:
    """Remediation effort in hours with one decimal: 870 -> "14.5h"."""
    hours = round(minutes / 60, 1)
    return f"{hours:g}h"


def iso(value: datetime | None) -> str | None:
    """`2024-01-21T08:00:00Z`: UTC, whole seconds, as the reference writes timestamps."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
