"""Worker and beat entry point: `celery -A workers.main worker -Q scans,shards,notifications,housekeeping`
(or `celery -A workers.main beat`)."""

import os

from celery.signals import setup_logging, worker_process_shutdown

from shared.platform import metrics
from shared.platform.logs import configure_logging
from shared.platform.settings import Settings
from workers.celery_app import create_celery

settings = Settings.from_env()
configure_logging(settings.log_level)
metrics.configure(settings)
app = create_celery(settings)


@setup_logging.connect(weak=False)
def _json_logs(logfile=None, **_):
    # Answering this signal keeps Celery's own handlers and colours out: worker and beat log the
    # same JSON lines as the API, at POLICYCORTEX_LOG_LEVEL, into --logfile when one is given.
    configure_logging(settings.log_level, logfile=logfile or None)


@worker_process_shutdown.connect(weak=False)
def _process_exited(**_):
    metrics.process_exited(settings, os.getpid())
