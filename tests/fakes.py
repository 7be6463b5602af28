"""Test doubles for the outside world (never for our own services): a slow cloud endpoint."""

from __future__ import annotations

import threading
import time

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


class SlowCloud:
    """An HTTP proxy in front of moto that delays every call: a cloud API slow enough for a test
    to cancel or time out a scan while its shards are still listing pages."""

    def __init__(self, upstream: str, delay: float = 0.2):
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.calls = 0
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _app(self, environ, start_response):
        request = Request(environ)
        self.calls += 1
        time.sleep(self.delay)
        upstream = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            headers={k: v for k, v in request.headers if k.lower() != "host"},
            data=request.get_data(),
            timeout=30,
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=headers)(environ, start_response)

    def __enter__(self) -> SlowCloud:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
