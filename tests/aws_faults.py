"""A fault-injecting HTTP proxy in front of moto: answers chosen AWS calls with AWS-shaped errors
(throttling for the next N calls, access denied always) and records every call it sees."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.fakes import HOP_BY_HOP

# SigV4: "Credential=AKID/20240101/us-east-1/ec2/aws4_request"
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
EC2_PROTOCOL = ("ec2",)
QUERY_PROTOCOL = ("iam", "sts", "rds", "elasticloadbalancing", "sns", "sqs", "cloudformation", "autoscaling")
REST_JSON = ("lambda",)


@dataclass
class Call:
    """One request as the proxy saw it."""

    service: str
    region: str
    operation: str | None  # None for REST services (S3, Lambda), whose operation is in the path
    access_key: str
    params: dict[str, str]  # the form fields of query-protocol calls (Action, Version, ...)
    faulted: str | None = None  # the error code the proxy answered instead of moto


@dataclass
class _Rule:
    code: str | None
    operation: str | None
    service: str | None
    region: str | None
    remaining: int | None  # None: forever
    kind: str  # "throttle" or "deny"

    def matches(self, call: Call) -> bool:
        return (
            (self.operation is None or self.operation == call.operation)
            and (self.service is None or self.service == call.service)
            and (self.region is None or self.region == call.region)
        )


def _protocol(service: str, headers) -> str:
    if headers.get("X-Amz-Target") or "amz-json" in headers.get("Content-Type", ""):
        return "json"
    if service in EC2_PROTOCOL:
        return "ec2"
    if service in QUERY_PROTOCOL:
        return "query"
    if service in REST_JSON:
        return "rest-json"
    return "rest-xml"


# (status, code) per protocol, as AWS answers them.
THROTTLE = {
    "ec2": (400, "RequestLimitExceeded"),
    "query": (400, "Throttling"),
    "json": (400, "ThrottlingException"),
    "rest-json": (429, "TooManyRequestsException"),
    "rest-xml": (503, "SlowDown"),
}
DENY = {
    "ec2": (403, "UnauthorizedOperation"),
    "query": (403, "AccessDenied"),
    "json": (400, "AccessDeniedException"),
    "rest-json": (403, "AccessDeniedException"),
    "rest-xml": (403, "AccessDenied"),
}


def error_response(protocol: str, status: int, code: str, message: str) -> Response:
    """An error body in the shape the service's protocol uses, so botocore parses its code."""
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message})
        return Response(body, status=status, content_type="application/x-amz-json-1.1")
    if protocol == "rest-json":
        body = json.dumps({"Type": "User", "message": message})
        return Response(body, status=status, content_type="application/json", headers={"x-amzn-ErrorType": code})
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            "<RequestID>fault-proxy</RequestID></Response>"
        )
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault-proxy</RequestId></ErrorResponse>"
        )
    else:
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
    return Response(body, status=status, content_type="text/xml")


@dataclass
class FaultyCloud:
    """Proxy to `upstream` (a moto server). Use as a context manager; point collectors at `url`."""

    upstream: str
    calls: list[Call] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.upstream = self.upstream.rstrip("/")
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def throttle(
        self, operation: str | None = None, *, times: int = 1, service: str | None = None, code: str | None = None
    ) -> None:
        """Answer the next `times` matching calls with the protocol's throttling error."""
        self._rules.append(_Rule(code, operation, service, None, times, "throttle"))

    def deny(
        self,
        operation: str | None = None,
        *,
        service: str | None = None,
        region: str | None = None,
        code: str | None = None,
    ) -> None:
        """Answer every matching call with access denied (UnauthorizedOperation for EC2)."""
        self._rules.append(_Rule(code, operation, service, region, None, "deny"))

    def operations(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    def _fault(self, call: Call) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(call) and (rule.remaining is None or rule.remaining > 0):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data(cache=True)
        scope = CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
        access_key, region, service = scope.groups() if scope else ("", "", "")
        params: dict[str, str] = {}
        if "x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
            params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        target = request.headers.get("X-Amz-Target")
        operation = target.rsplit(".", 1)[-1] if target else params.get("Action")
        call = Call(service, region, operation, access_key, params)
        with self._lock:
            self.calls.append(call)
        rule = self._fault(call)
        if rule is not None:
            protocol = _protocol(service, request.headers)
            status, code = (THROTTLE if rule.kind == "throttle" else DENY)[protocol]
            call.faulted = rule.code or code
            message = "Rate exceeded" if rule.kind == "throttle" else f"not authorized to perform {operation}"
            return error_response(protocol, status, call.faulted, message)(environ, start_response)
        upstream = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            headers={k: v for k, v in request.headers if k.lower() != "host"},
            data=body,
            timeout=30,
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=headers)(environ, start_response)

    def __enter__(self) -> FaultyCloud:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
