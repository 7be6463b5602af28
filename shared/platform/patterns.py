"""Tenants' patterns (regexes and globs) on a linear-time engine, RE2: matching takes time linear
in the text whatever the pattern, so no pattern can hold a worker. Patterns RE2 cannot run
(backreferences, lookaround) are refused when they are written, not when a scan meets them."""

from __future__ import annotations

from collections.abc import Iterable

import re2

MAX_PATTERN_LENGTH = 1000  # characters in a regex
MAX_GLOB_LENGTH = 2048  # characters in a glob (an ARN with wildcards)
MAX_PROGRAM_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern (a scope's globs are one)


class PatternError(ValueError):
    """A pattern that is refused; the message says why, in words a caller can act on."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the caller's 400, not a line on our stderr
    options.max_mem = MAX_PROGRAM_MEMORY
    return options


def compile_regex(pattern: str) -> re2._Regexp:
    """A tenant's regular expression (RE2 syntax: no backreferences or lookaround)."""
    if not isinstance(pattern, str):
        raise PatternError("must be a string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"must be at most {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"not a regular expression RE2 can run ({reason})") from None


def glob_to_regex(glob: str) -> str:
    """The glob (`*` any run, `?` one character, `[abc]`/`[!abc]` a set) as an RE2 pattern."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            j = i + 1 if i < n and glob[i] == "!" else i
            j = j + 1 if j < n and glob[j] == "]" else j  # a leading ] is a member, not the end
            end = glob.find("]", j)
            if end == -1:
                out.append(re2.escape("["))  # an unclosed bracket is a literal, as fnmatch reads it
                continue
            members = glob[i:end]
            i = end + 1
            negate = members.startswith("!")
            out.append(_char_class(members[1:] if negate else members, negate))
        else:
            out.append(re2.escape(char))
    return "".join(out)


def _char_class(members: str, negate: bool) -> str:
    """A glob's [set] as an RE2 class; a reversed range (z-a) is empty, as in fnmatch."""
    parts: list[str] = []
    k = 0
    while k < len(members):
        if k + 2 < len(members) and members[k + 1] == "-":
            low, high = members[k], members[k + 2]
            if low <= high:
                parts.append(f"\\x{{{ord(low):x}}}-\\x{{{ord(high):x}}}")
            k += 3
        else:
            parts.append(f"\\x{{{ord(members[k]):x}}}")
            k += 1
    if not parts:
        return "." if negate else "[^\\x00-\\x{10ffff}]"  # [!] matches any one character, [] none
    return f"[{'^' if negate else ''}{''.join(parts)}]"


def compile_globs(globs: Iterable[str]) -> re2._Regexp | None:
    """One matcher for any of the globs, each matching a whole string; None when there are none."""
    globs = list(globs)
    if not globs:
        return None
    for glob in globs:
        if not isinstance(glob, str):
            raise PatternError("a glob must be a string")
        if len(glob) > MAX_GLOB_LENGTH:
            raise PatternError(f"a glob must be at most {MAX_GLOB_LENGTH} characters")
    options = _options()
    options.dot_nl = True  # `*` crosses newlines, as in fnmatch
    try:
        return re2.compile("|".join(f"(?:{glob_to_regex(glob)})" for glob in globs) + r"\z", options)
    except re2.error as exc:
        raise PatternError(f"the globs cannot be compiled ({exc.args[0]!r})") from None


def glob_to_like(glob: str) -> str:
    """The same glob as a SQL LIKE pattern (escape character backslash), for filters in SQL."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")
