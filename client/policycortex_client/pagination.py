"""Iterators over every page of a list: offset pages (`limit`, `offset`, `has_more`) and cursor
pages (`limit`, `cursor`, `next_cursor`), one request per page, fetched as the caller reads on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Fetch = Callable[..., Mapping[str, Any]]  # one page, for the parameters as keywords


def offset_items(fetch: Fetch, key: str, params: dict[str, Any]) -> Iterator[Any]:
    """The items under `key` of every page from `params['offset']` (default 0) on. The next page
    starts after what this one held; a list that changes meanwhile may repeat or skip an item, as
    any offset pagination does."""
    params = dict(params)
    offset = int(params.get("offset") or 0)
    while True:
        page = fetch(**{**params, "offset": offset})
        items = page[key]
        yield from items
        if not page["pagination"]["has_more"] or not items:
            return
        offset = page["pagination"]["offset"] + len(items)


def cursor_items(fetch: Fetch, key: str, params: dict[str, Any]) -> Iterator[Any]:
    """The items under `key` of every page, following `next_cursor` until it is null."""
    params = dict(params)
    while True:
        page = fetch(**params)
        yield from page[key]
        cursor = page["pagination"].get("next_cursor")
        if not page["pagination"]["has_more"] or not cursor:
            return
        params = {**params, "cursor": cursor}
