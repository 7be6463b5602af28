"""Gunicorn settings for the API: `gunicorn -c python:api.gunicorn_conf --workers 2 'api.wsgi:app'` (the
number of workers and the bind address stay on the command line). This file holds the serving design,
so that `make up`, compose, the demo and the benches run the same one (README, "Serving"), and it makes
gunicorn's own lines the same JSON as the app's.

gunicorn's master runs this file before it forks the workers, which patch the standard library for
gevent: it imports nothing but the standard library and the JSON log handler (see api/serving.py)."""

import os
import tempfile

from shared.platform.logs import json_handler

# gevent greenlets, not threads: a slow, idle or streaming connection costs a greenlet and no thread,
# and a connection must deliver its request headers within POLICYCORTEX_HEADER_TIMEOUT.
worker_class = "api.serving.GeventWorker"
# Connections one worker holds at once (streams, REST calls and slow clients together). A full worker
# stops accepting and connections wait in the kernel's queue, so this stays well above the streams one
# process takes (api/stream.py MAX_STREAMS).
worker_connections = 4000
# Idle keep-alive connections are closed after this long; a later request's headers must arrive by then.
keepalive = 5

# The level the app reads from POLICYCORTEX_LOG_LEVEL (shared/platform/settings.py), read here without
# importing the settings module, which imports requests and urllib3.
LOG_LEVEL = (os.environ.get("POLICYCORTEX_LOG_LEVEL") or "INFO").upper()

# With --error-logfile, the workers' stderr (the app's JSON log lines) goes to that file too.
capture_output = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"json": {"()": json_handler}},
    "root": {"level": LOG_LEVEL, "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": LOG_LEVEL, "handlers": [], "propagate": True},
        # Replaced by the app's own JSON access line (api/observability.py), which has the request id.
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}


def control_socket_path(master_pid: int) -> str:
    return os.path.join(tempfile.gettempdir(), f"policycortex-gunicorn-{master_pid}.ctl")


def on_starting(server):
    # gunicorn's control socket (for `gunicornc`) defaults to one path per user, shared by every instance
    # on the host: stopping one instance removed the socket of the others. Unless --control-socket names
    # one, each instance gets its own, named after its master process (here, after --daemon forked).
    if server.cfg.control_socket == server.cfg.settings["control_socket"].default:
        server.cfg.set("control_socket", control_socket_path(os.getpid()))


def worker_exit(server, worker):
    # Metrics bookkeeping for the exiting worker, in the worker itself: in the master (child_exit) it would
    # import the app's libraries there, and every worker forked after that would inherit them unpatched.
    from shared.platform import metrics
    from shared.platform.settings import Settings

    metrics.process_exited(Settings.from_env(), os.getpid())
