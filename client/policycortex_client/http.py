"""The HTTP side of the client: one tenant's key on a requests session, every call by its name in
the operations table, error answers raised as the envelope's exception."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from .errors import ConnectionFailed, PolicyCortexError, error_for
from .operations import OPERATIONS, Operation

USER_AGENT = "policycortex-client/0.1"
CHUNK_BYTES = 64 * 1024


class Http:
    def __init__(self, base_url: str, api_key: str | None, *, timeout: float, session: requests.Session | None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def url(self, name: str, path: Mapping[str, str]) -> tuple[Operation, str]:
        operation = OPERATIONS[name]
        quoted = {key: quote(str(value), safe="") for key, value in path.items()}
        return operation, self.base_url + operation.path.format(**quoted)

    def call(
        self,
        name: str,
        path: Mapping[str, str] | None = None,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str | None] | None = None,
        transport_headers: Mapping[str, str | None] | None = None,
        **send: Any,
    ) -> Any:
        """The JSON answer of operation `name` (None for 204); `send` goes to requests (json=, data=).
        `headers` are the operation's declared header parameters; `transport_headers` say how the
        body is encoded or signed (None removes a session header)."""
        operation, url = self.url(name, path or {})
        params = query_params(name, operation, query or {})
        sent: dict[str, str | None] = {**sent_headers(name, operation, headers or {}), **(transport_headers or {})}
        try:
            response = self.session.request(
                operation.method, url, params=params, headers=sent, timeout=self.timeout, **send
            )
        except requests.RequestException as exc:
            raise ConnectionFailed(f"cannot reach {self.base_url}: {type(exc).__name__}") from None
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.ok:
            raise error_for(response.status_code, body, response.headers)
        if body is None:
            raise PolicyCortexError(f"HTTP {response.status_code}: the answer is not JSON", status=response.status_code)
        return body

    def download(self, name: str, path: Mapping[str, str], query: Mapping[str, Any]) -> Iterator[bytes]:
        """A GET answered with a file, in chunks as they arrive: nothing is yielded before the
        status is known good, so a refusal raises before the caller writes anything."""
        operation, url = self.url(name, path)
        params = query_params(name, operation, query)
        try:
            with self.session.get(url, params=params, stream=True, timeout=self.timeout) as response:
                if not response.ok:
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    raise error_for(response.status_code, body, response.headers)
                yield from response.iter_content(chunk_size=CHUNK_BYTES)
        except requests.RequestException as exc:
            raise ConnectionFailed(f"download from {self.base_url} failed: {type(exc).__name__}") from None


def query_params(name: str, operation: Operation, query: Mapping[str, Any]) -> dict[str, Any]:
    """The query string: only parameters the operation declares (a typo is an error here, not a
    filter the server silently ignores); None left out; booleans and date-times as the API reads them."""
    unknown = sorted(set(query) - set(operation.query))
    if unknown:
        allowed = ", ".join(operation.query) or "none"
        raise TypeError(f"{name} takes no parameter {', '.join(unknown)} (it takes: {allowed})")
    params: dict[str, Any] = {}
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, datetime):
            value = value.isoformat()
        params[key] = value
    return params


def sent_headers(name: str, operation: Operation, headers: Mapping[str, str | None]) -> dict[str, str]:
    unknown = sorted(set(headers) - set(operation.headers))
    if unknown:
        raise TypeError(f"{name} sends no header {', '.join(unknown)}")
    return {key: value for key, value in headers.items() if value is not None}


def write_atomically(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> int:
    """Write beside `path` and rename over it once complete: a failed download leaves no truncated
    file. The number of bytes written."""
    target = os.fspath(path)
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(target)), prefix=".policycortex-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            size = sum(file.write(chunk) for chunk in chunks)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return size
