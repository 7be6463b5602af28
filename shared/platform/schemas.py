"""marshmallow helpers every request schema uses: closed schemas, non-blank strings, and
validation messages as the error envelope's `details`."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError


class Closed(Schema):
    """Unknown fields are errors: a typo must not be silently ignored."""

    class Meta:
        unknown = RAISE


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
