"""The percentage a scan shows: it only grows, stays below 100 until the scan ends, and says what it
rests on (issue 16: 99.9% then 16.7%, "100% 4/4" while a shard still ran)."""

from __future__ import annotations

from shared.scans.finalizer import final_progress
from shared.scans.models import ScanShard
from shared.scans.progress import RUNNING_CAP, running_percentage, work_done


def shard(expected: int, scanned: int = 0, done: int = 0) -> dict[str, int]:
    return {"expected": expected, "scanned": scanned, "done": done}


def test_with_the_inventory_known_the_percentage_follows_resources():
    shards = {1: shard(1500, 100), 2: shard(106, 6)}
    fraction, basis = work_done(shards)
    assert basis == "inventory" and round(100 * fraction, 1) == round(100 * 106 / 1606, 1)


def test_without_an_inventory_each_shard_counts_the_same_and_nothing_is_guessed():
    fraction, basis = work_done({1: shard(-1, 9), 2: shard(-1, 0)})
    assert (fraction, basis) == (0.0, "shards")  # 9 resources of an unknown total: not 99.9%
    fraction, _ = work_done({1: shard(-1, 9, done=1), 2: shard(-1, 0)})
    assert fraction == 0.5


def test_a_run_of_a_scan_never_shows_a_falling_or_full_percentage():
    """The first full scan of the issue: one small shard done early, one large still listing."""
    steps = [
        {1: shard(-1, 9), 2: shard(-1, 0)},
        {1: shard(-1, 9, done=1), 2: shard(-1, 0)},
        {1: shard(-1, 9, done=1), 2: shard(-1, 20)},
        {1: shard(-1, 9, done=1), 2: shard(-1, 91)},
    ]
    shown = [running_percentage(work_done(step)[0]) for step in steps]
    assert shown == sorted(shown) and max(shown) < 100
    # With the inventory known, a shard that finds more than expected is credited at most 95%.
    assert running_percentage(work_done({1: shard(10, 500)})[0]) == 95.0
    assert running_percentage(work_done({1: shard(10, 10, done=1)})[0]) == RUNNING_CAP


def test_a_scan_that_ended_otherwise_never_draws_a_full_bar():
    shards = [
        ScanShard(id=1, expected_resources=None, resources_scanned=40, status="completed"),
        ScanShard(id=2, expected_resources=None, resources_scanned=3, status="failed"),
    ]
    assert final_progress("failed", shards) == {"percentage": 50.0, "basis": "shards"}
    assert final_progress("completed", shards)["percentage"] == 100.0
