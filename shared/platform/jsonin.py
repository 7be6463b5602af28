"""JSON a tenant sends, parsed so that no document can hurt a request: nesting is bounded (deep
nesting would exhaust the recursion of every layer after the parser), and strings and numbers
that PostgreSQL cannot store (NUL, lone UTF-16 surrogates, NaN and Infinity) are refused with the
path of the first one, instead of failing deep inside a query."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class JsonInputError(ValueError):
    """Input that is refused; `field` is a path such as `body.credentials.secret`."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _no_constant(name: str) -> Any:
    raise JsonInputError("body", f"{name} is not a JSON number")


def loads(data: bytes | str, *, root: str = "body") -> Any:
    """Parse and check a document; JsonInputError names where it is refused."""
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise JsonInputError(root, f"nested deeper than {MAX_DEPTH} levels") from None
    except JsonInputError as exc:
        raise JsonInputError(root, exc.message) from None
    except (ValueError, UnicodeDecodeError):
        raise JsonInputError(root, "Malformed JSON") from None
    check(value, root)
    return value


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return "NUL characters are not allowed"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (not a character)"
    return None


def _path(link: tuple | None) -> str:
    """The path of a node from its (parent link, key) chain, built only for a refused value."""
    parts: list[str] = []
    while link is not None:
        link, key = link
        parts.append(str(key) if link is None else f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts))


def check(value: Any, root: str = "body") -> None:
    """Walk a parsed document: depth, keys and strings, numbers. Iterative: any depth is safe; the
    path of a node is kept as a link to its parent's and spelled out only when it is refused."""
    stack: list[tuple[Any, tuple, int]] = [(value, (None, root), 0)]
    while stack:
        node, link, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonInputError(_path(link)[:200], f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            problem = _problem(node)
            if problem:
                raise JsonInputError(_path(link), problem)
        elif isinstance(node, float) and (node != node or node in (float("inf"), float("-inf"))):
            raise JsonInputError(_path(link), "NaN and Infinity are not JSON numbers")
        elif isinstance(node, dict):
            for key, child in node.items():
                problem = _problem(key)
                if problem:
                    raise JsonInputError(_path(link), f"a key: {problem}")
                stack.append((child, (link, key), depth + 1))
        elif isinstance(node, list):
            stack.extend((child, (link, index), depth + 1) for index, child in enumerate(node))
