"""Every remediation action, registered: look one up here by its name."""

from __future__ import annotations

from shared.remediation import aws  # noqa: F401  (it registers its actions)
from shared.remediation.base import actions

__all__ = ["actions"]
