"""Globs as tenants write them (`arn:aws:s3:::prod-*`), matched in Python or turned into SQL LIKE."""

from __future__ import annotations


def glob_to_like(glob: str) -> str:
    """The same glob as a SQL LIKE pattern (escape character backslash), for filters in SQL."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")
