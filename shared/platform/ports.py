"""Port specs as collectors write them for firewall rules ("22", "20-25", "*", a list of those, or
null) and whether one admits a port: what policies and remediation both ask."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=65536)
def _port_bounds(spec: str) -> tuple[int, int]:
    """(low, high) of a port-range string; (1, 0), an empty range, when it is not one."""
    spec = spec.strip()
    if spec in ("*", "all"):
        return 0, 65535
    low, _, high = spec.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        return 1, 0


def port_spec_includes(spec: Any, port: int) -> bool:
    """True when a port spec ("22", "20-25", "*", 22, a list of those, or null) admits `port`."""
    if type(spec) is str:
        low, high = _port_bounds(spec)
        return low <= port <= high
    if isinstance(spec, list):
        return any(port_spec_includes(item, port) for item in spec)
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return int(spec) == port
    return False
