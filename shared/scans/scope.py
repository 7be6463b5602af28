"""Scope filters: include/exclude globs over resource ids and ARNs, compiled once per shard (RE2)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.inventory.collectors.base import CollectedResource
from shared.platform.patterns import compile_globs


class ResourceScope:
    """`include_resources` (empty: everything) minus `exclude_resources`; a glob may match the
    resource's uid (ARN) or its short id."""

    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()):
        self.include_patterns = list(include)
        self._include = compile_globs(self.include_patterns)
        self._exclude = compile_globs(exclude)

    def admits(self, resource: CollectedResource) -> bool:
        if self._include and not (self._include.match(resource.uid) or self._include.match(resource.id)):
            return False
        return not (self._exclude and (self._exclude.match(resource.uid) or self._exclude.match(resource.id)))

    def may_contain(self, uid_prefix: str | None) -> bool:
        """False only when every include glob is an ARN of another service (so a shard can skip
        listing a resource type whose resources could never be in scope)."""
        if not self.include_patterns or uid_prefix is None:
            return True
        for pattern in self.include_patterns:
            literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
            if not literal.startswith("arn:"):
                return True
            if uid_prefix.startswith(literal) or literal.startswith(uid_prefix):
                return True
        return False
