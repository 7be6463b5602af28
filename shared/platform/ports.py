"""Port specs as collectors write them for firewall rules ("22", "20-25", "*", a list of those, or
null): whether one admits a port (what policies and remediation both ask), and the interval
arithmetic firewall evaluations use to say which ports stay open."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

Ranges = list[tuple[int, int]]
ALL_PORTS = (0, 65535)
ANY_PORT = ("*", "any", "all")


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


def port_intervals(specs: Iterable[Any]) -> Ranges:
    """The (low, high) intervals of port specs ("22", "20-25", "*" or any: every port, numbers);
    what is none of them admits nothing."""
    found: Ranges = []
    for spec in specs:
        if spec is None or isinstance(spec, bool):
            continue
        text = str(spec).strip().lower()
        if text in ANY_PORT:
            found.append(ALL_PORTS)
            continue
        low, _, high = text.partition("-")
        try:
            found.append((int(low), int(high or low)))
        except ValueError:
            continue
    return found


def without(ranges: Ranges, taken: Ranges) -> Ranges:
    """The parts of `ranges` that no interval of `taken` covers."""
    for t_low, t_high in taken:
        kept = []
        for low, high in ranges:
            if t_high < low or high < t_low:
                kept.append((low, high))
                continue
            if low < t_low:
                kept.append((low, t_low - 1))
            if t_high < high:
                kept.append((t_high + 1, high))
        ranges = kept
    return ranges


def as_specs(ranges: Ranges) -> list[str]:
    """Intervals merged and sorted, as port specs: ["22", "80-443"]."""
    merged: Ranges = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return [str(low) if low == high else f"{low}-{high}" for low, high in merged]
