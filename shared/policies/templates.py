"""The one-sentence templates of a policy's finding ("{name} has no default encryption"): tenant
input, so bounded. A template names fields only, from a closed list, with at most a small width;
no attribute or index access, no conversions; the rendered sentence is capped."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

FIELDS = ("name", "id", "region", "account")
MAX_LENGTH = 500  # characters in a template
MAX_WIDTH = 64  # the widest `{name:>64}` allowed
MAX_RENDERED = 1000  # characters in a rendered sentence
_SPEC = re.compile(r"(?:.?[<>^])?(\d{1,3})?")


class TemplateError(ValueError):
    """A template that is refused; the message says what to write instead."""


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and (field, format spec) pairs, rendered by concatenation."""

    source: str
    parts: tuple[tuple[str, str | None, str], ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        if len(text) > MAX_LENGTH:
            raise TemplateError(f"must be at most {MAX_LENGTH} characters")
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:  # "{" alone, "}" alone
            raise TemplateError(f"is not a valid template ({exc}); write {{{{ and }}}} for literal braces") from None
        parts = []
        for literal, name, spec, conversion in parsed:
            if name is None:
                parts.append((literal, None, ""))
                continue
            if name not in FIELDS:
                allowed = ", ".join(f"{{{field}}}" for field in FIELDS)
                raise TemplateError(f"names {{{name}}}; a template may name only {allowed}")
            if conversion is not None:
                raise TemplateError(f"uses a conversion (!{conversion}); write {{{name}}} alone")
            match = _SPEC.fullmatch(spec or "")
            if match is None or (match.group(1) and int(match.group(1)) > MAX_WIDTH):
                raise TemplateError(f"formats {{{name}}} with '{spec}'; only an alignment and a width to {MAX_WIDTH}")
            parts.append((literal, name, spec or ""))
        return cls(text, tuple(parts))

    def render(self, names: dict[str, str]) -> str:
        out = []
        for literal, name, spec in self.parts:
            out.append(literal)
            if name is not None:
                out.append(format(str(names.get(name, "")), spec))
        text = "".join(out)
        return text if len(text) <= MAX_RENDERED else text[: MAX_RENDERED - 1] + "…"
