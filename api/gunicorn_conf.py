"""Gunicorn settings for the API: `gunicorn -c python:api.gunicorn_conf 'api.wsgi:app'` (workers, threads
and the bind address stay on the command line). Gunicorn's own lines become the same JSON as the app's."""

from shared.platform import metrics
from shared.platform.logs import json_handler
from shared.platform.settings import Settings

settings = Settings.from_env()

# With --error-logfile, the workers' stderr (the app's JSON log lines) goes to that file too.
capture_output = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"json": {"()": json_handler}},
    "root": {"level": settings.log_level, "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": settings.log_level, "handlers": [], "propagate": True},
        # Replaced by the app's own JSON access line (api/observability.py), which has the request id.
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}


def child_exit(server, worker):
    metrics.process_exited(settings, worker.pid)
