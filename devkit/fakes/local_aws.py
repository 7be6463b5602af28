"""moto, and the AWS APIs the collector reads that moto 5.2 does not serve, behind one local
endpoint: for the demo, the dev stack, benches and tests.

- IAM Access Analyzer: analyzers per region in memory (CreateAnalyzer, ListAnalyzers, GetAnalyzer,
  DeleteAnalyzer), no findings (ListFindingsV2).
- SSM service settings (GetServiceSetting, UpdateServiceSetting, ResetServiceSetting): per region,
  each setting at AWS's default until updated (public sharing of SSM documents: "Enable").

The answers have the shape of the API reference's. `POST /moto-api/reset` empties them with moto.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ACCOUNT = "123456789012"  # moto's default account
SERVICE_SETTING_DEFAULTS = {"/ssm/documents/console/public-sharing-permission": "Enable"}
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


class LocalAws:
    """Start with `start()`, point clients at `url`, `stop()` when done."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._analyzers: dict[str, dict[str, dict]] = {}  # region -> name -> analyzer
        self._settings: dict[tuple[str, str], str] = {}  # (region, setting id) -> value
        self._lock = threading.Lock()
        self._server = make_server(host, port, self._app, threaded=True, request_handler=MotoRequestHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LocalAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ, start_response):
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope and scope.group(2) == "access-analyzer":
            return self._access_analyzer(Request(environ), scope.group(1))(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if scope and target.endswith("ServiceSetting") and target.startswith("AmazonSSM."):
            return self._service_setting(Request(environ), scope.group(1), target)(environ, start_response)
        if environ.get("PATH_INFO") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            with self._lock:
                self._analyzers.clear()
                self._settings.clear()
        return self._moto(environ, start_response)

    def _access_analyzer(self, request: Request, region: str) -> Response:
        path, method = request.path.rstrip("/"), request.method
        with self._lock:
            analyzers = self._analyzers.setdefault(region, {})
            if path == "/analyzer" and method == "GET":
                return _json({"analyzers": list(analyzers.values())})
            if path == "/analyzer" and method == "PUT":
                body = request.get_json(force=True)
                name = body["analyzerName"]
                if name in analyzers:
                    return _error(409, "ConflictException", f"Analyzer {name} already exists")
                analyzers[name] = {
                    "arn": f"arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzer/{name}",
                    "name": name,
                    "type": body.get("type", "ACCOUNT"),
                    "createdAt": datetime.now(UTC).isoformat(),
                    "tags": body.get("tags") or {},
                    "status": "ACTIVE",
                }
                return _json({"arn": analyzers[name]["arn"]})
            if path.startswith("/analyzer/"):
                name = path.removeprefix("/analyzer/")
                if name not in analyzers:
                    return _error(404, "ResourceNotFoundException", f"Analyzer {name} not found")
                if method == "DELETE":
                    del analyzers[name]
                    return _json({})
                return _json({"analyzer": analyzers[name]})
            if path == "/findingv2" and method == "POST":
                return _json({"findings": []})
        return _error(400, "ValidationException", f"{method} {path} is not served by this local Access Analyzer")

    def _service_setting(self, request: Request, region: str, target: str) -> Response:
        body = request.get_json(force=True)
        setting = body.get("SettingId", "")
        if setting not in SERVICE_SETTING_DEFAULTS:
            return _error(400, "ServiceSettingNotFound", f"No setting {setting} in this local SSM")
        with self._lock:
            if target == "AmazonSSM.UpdateServiceSetting":
                self._settings[region, setting] = body["SettingValue"]
                return _json({})
            if target == "AmazonSSM.ResetServiceSetting":
                self._settings.pop((region, setting), None)
            value = self._settings.get((region, setting), SERVICE_SETTING_DEFAULTS[setting])
            customized = (region, setting) in self._settings
        answer = {
            "SettingId": setting,
            "SettingValue": value,
            "LastModifiedDate": datetime.now(UTC).timestamp(),
            "LastModifiedUser": f"arn:aws:sts::{ACCOUNT}:assumed-role/local" if customized else "System",
            "ARN": f"arn:aws:ssm:{region}:{ACCOUNT}:servicesetting{setting}",
            "Status": "Customized" if customized else "Default",
        }
        return _json({"ServiceSetting": answer})


def _json(body: dict) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"message": message}),
        status=status,
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )
