"""Logging set-up shared by every entry point: one JSON object per line, carrying the ids of the
request or task it concerns, with secrets scrubbed from every field before it is written."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

REDACTED = "[REDACTED]"
# Fields whose values are secrets whatever they hold (dict keys in `extra`, key=value pairs in text).
SECRET_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "api_key", "api-key", "apikey", "authorization",
    "authorisation", "credential", "private_key", "private-key", "privatekey", "access_key", "access-key",
    "accesskey", "signature", "cookie",
)  # fmt: skip
SECRET_NAME = "|".join(re.escape(word) for word in SECRET_WORDS)
SECRET_FIELD = re.compile(SECRET_NAME, re.IGNORECASE)
# Secrets inside free text (messages, exceptions, values), most specific first. Each pattern runs
# only when one of its lower-case hints occurs in the text: most lines have none, and cost little.
SECRET_PATTERNS = (
    (
        ("private key-----",),
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|.*)", re.DOTALL),
        REDACTED,
    ),
    # An Authorization header's value, whatever its scheme (Bearer, Basic, AWS4-HMAC-SHA256...).
    (
        ("authoriz", "authoris"),
        re.compile(r"(authori[sz]ation[\"']?\s*[:=]\s*(?-i:b)?[\"']?)[^\"'\n]+", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    (("bearer", "basic"), re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    (("sk_live_", "sk_test_"), re.compile(r"\bsk_(live|test)_[A-Za-z0-9_-]+"), rf"sk_\1_{REDACTED}"),  # API keys
    (("gaaaaa",), re.compile(r"\bgAAAAA[A-Za-z0-9_-]{20,}=*"), REDACTED),  # Fernet tokens (encrypted credentials)
    (("akia", "asia"), re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), REDACTED),  # AWS access key ids
    (("hooks.slack.com",), re.compile(r"(https://hooks\.slack\.com/services/)[^\s\"'<>]+"), rf"\1{REDACTED}"),
    (("://",), re.compile(r"\b([a-z][a-z0-9+.-]*://[^:/?#\s@]*):[^@/\s]+@", re.IGNORECASE), rf"\1:{REDACTED}@"),
    (  # key=value, "key": "value", 'key': b'value' whose key names a secret
        SECRET_WORDS,
        re.compile(
            rf"((?:{SECRET_NAME})[\w.-]*[\"']?\s*[:=]\s*(?-i:b)?)(?!(?-i:b)?[\"']?\[REDACTED\])"
            r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,;&}\]]+)",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
)

# The ids of the request or task being handled, added to every record logged meanwhile.
_log_context: ContextVar[Mapping[str, Any]] = ContextVar("policycortex_log_context", default=MappingProxyType({}))


# Matched against the lower-cased text (IGNORECASE would make this alternation ten times slower).
_ANY_HINT = re.compile("|".join(re.escape(hint) for hints, _, _ in SECRET_PATTERNS for hint in hints))


@lru_cache(maxsize=4096)
def secret_field(name: str) -> bool:
    return SECRET_FIELD.search(name) is not None


def scrub_text(text: str) -> str:
    lowered = text.lower()
    if not _ANY_HINT.search(lowered):  # the common case: one scan of the text
        return text
    for hints, pattern, replacement in SECRET_PATTERNS:
        if any(hint in lowered for hint in hints):
            text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, name: str | None = None) -> Any:
    """A JSON-ready copy of `value` with secret fields blanked and secrets in text replaced."""
    if name is not None and secret_field(name):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): scrub(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item) for item in value]
    return scrub_text(value if isinstance(value, str) else str(value))


def bind(**ids: Any) -> Token:
    """Add ids to the log context of the current request or task; `unbind(token)` restores it."""
    return _log_context.set({**_log_context.get(), **{k: v for k, v in ids.items() if v is not None}})


def unbind(token: Token) -> None:
    _log_context.reset(token)


def bound() -> Mapping[str, Any]:
    return _log_context.get()



class ContextFilter(logging.Filter):
    """Stamps the bound ids (request_id, tenant_id, scan_id, shard_id, task...) on each record;
    ids passed explicitly in `extra` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _log_context.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """Message, level, logger and any ids passed in `extra` or bound, every field scrubbed."""

    reserved = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        fields = {"message": record.getMessage()}
        fields.update({k: v for k, v in record.__dict__.items() if k not in self.reserved})
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["exception"] = record.exc_text
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            **scrub(fields),
        }
        return json.dumps(entry)


def json_handler(stream: IO[str] | None = None, filename: str | None = None) -> logging.Handler:
    """The one handler every process logs through: to a file (reopened when rotated) or a stream."""
    if filename:
        handler: logging.Handler = logging.handlers.WatchedFileHandler(filename, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())  # on the handler, so records of every logger get the ids
    return handler


# Chatty libraries: their DEBUG lines describe our own calls, not our behaviour.
QUIET_LOGGERS = {"botocore": logging.WARNING, "boto3": logging.WARNING, "urllib3": logging.INFO}


def configure_logging(level: str = "INFO", *, logfile: str | None = None, stream: IO[str] | None = None) -> None:
    root = logging.getLogger()
    root.handlers[:] = [json_handler(stream, logfile)]
    root.setLevel(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
