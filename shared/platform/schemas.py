"""marshmallow helpers every request schema uses: closed schemas, non-blank strings, and
validation messages as the error envelope's `details`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class Closed(Schema):
    """Unknown fields are errors: a typo must not be silently ignored."""

    class Meta:
        unknown = RAISE


def bounded_list(item: fields.Field, max_items: int, **kwargs: Any) -> fields.List:
    """A list field of at most `max_items` items: every list a tenant sends is bounded."""
    return fields.List(item, validate=validate.Length(max=max_items), **kwargs)


MAX_OFFSET = 1_000_000_000  # deeper pages are not a real need, and 2**63 would overflow SQL


def offset_field() -> fields.Integer:
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


def _port_in_range(url: str) -> None:
    try:
        _ = urlsplit(url).port  # raises for a port out of range or not a number
    except ValueError:
        raise ValidationError("The port must be a number from 0 to 65535.") from None


def http_url(**kwargs: Any) -> fields.Url:
    """An http(s) URL whose port, if any, is a real one (marshmallow's Url does not check it)."""
    return fields.Url(schemes={"http", "https"}, require_tld=False, validate=_port_in_range, **kwargs)


def non_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def error_details(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested messages as the envelope's `details`: one entry per bad field."""
    details: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                details += error_details(value, prefix)
                continue
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            details += error_details(value, name)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        details.append({"field": prefix or "body", "message": " ".join(messages)})
    elif isinstance(messages, list):
        for item in messages:
            details += error_details(item, prefix)
    else:
        details.append({"field": prefix or "body", "message": str(messages)})
    return details
