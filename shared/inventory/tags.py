"""A resource's tags (AWS, Azure) or labels (GCP) as one plain `tags` object of text to text, so
mute rules and custom policies read `tags.<key>` the same way on every provider and type."""

from __future__ import annotations

from typing import Any

# The provider's own limits (tags per resource, key length, value length). Collected tags never
# exceed them; uploaded documents may claim anything, so tags beyond the count are dropped (the
# first ones in the document's order are kept) and longer keys and values are cut at the limit.
LIMITS: dict[str, tuple[int, int, int]] = {
    "aws": (50, 128, 256),
    "azure": (50, 512, 256),
    "gcp": (64, 63, 63),
}
# Where AWS answers carry tags: the listing's inline forms (EC2 `Tags`, RDS `TagList`, S3 `TagSet`,
# ECS and EKS `tags`), and where the collector stores a tagging call's answer (`Tags`).
AWS_TAG_FIELDS = ("Tags", "TagList", "TagSet", "tags")
# Pairs are {"Key", "Value"} on most APIs, {"key", "value"} on ECS, {"TagKey", "TagValue"} on KMS.
PAIR_FIELDS = (("Key", "Value"), ("key", "value"), ("TagKey", "TagValue"))


def tags_of(provider: str, document: dict) -> dict[str, str]:
    """The document's tags as {key: value}: AWS from its list or map forms, Azure from the row's
    `tags` (null when it has none), GCP from the resource's `labels`, a hybrid (uploaded) resource
    from its own `tags` (a map, or a list of Key/Value pairs), within AWS's limits. Empty when it has none."""
    if provider == "aws":
        found = next((document[key] for key in AWS_TAG_FIELDS if document.get(key) is not None), None)
    elif provider in ("azure", "hybrid"):
        found = document.get("tags")
    elif provider == "gcp":
        found = document.get("labels")
    else:
        found = None
    return _capped(_pairs(found), LIMITS.get(provider, LIMITS["aws"]))


def with_tags(provider: str, document: dict) -> dict:
    """The document with its `tags` set (in place). A GCP compute instance's own `tags` are its
    network tags ({items: [...], fingerprint}): they move to `networkTags` before labels take the
    name (a label's value is never a list, so deriving again changes nothing)."""
    network_tags = document.get("tags")
    if provider == "gcp" and isinstance(network_tags, dict) and isinstance(network_tags.get("items"), list):
        document["networkTags"] = document.pop("tags")
    document["tags"] = tags_of(provider, document)
    return document


def _pairs(found: Any) -> list[tuple[Any, Any]]:
    if isinstance(found, dict):
        return list(found.items())
    pairs = []
    for element in found if isinstance(found, list) else []:
        if not isinstance(element, dict):
            continue
        for key_field, value_field in PAIR_FIELDS:
            if element.get(key_field) is not None:
                pairs.append((element[key_field], element.get(value_field)))
                break
    return pairs


def _capped(pairs: list[tuple[Any, Any]], limits: tuple[int, int, int]) -> dict[str, str]:
    count, key_length, value_length = limits
    tags: dict[str, str] = {}
    for key, value in pairs[:count]:
        tags[str(key)[:key_length]] = ("" if value is None else str(value))[:value_length]
    return tags
