"""What a remediation action is: a registered function that fixes one violation's resource in the
cloud and returns the setting before and after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.platform.registry import Registry


class RemediationFailed(Exception):
    """An action that could not fix its resource; the message says why."""


@dataclass(frozen=True)
class Target:
    """What an action works on: the violation's resource, its last known document, its region."""

    uid: str
    name: str
    region: str
    document: dict
    policy_id: str


# An action takes (collector, target, dry_run) and returns (before, after) documents of the setting
# it changes; with dry_run it returns what it would do and changes nothing.
Action = Callable[[Any, Target, bool], tuple[dict, dict]]


actions: Registry[Action] = Registry("remediation action")
