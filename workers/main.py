"""Worker entry point: `celery -A workers.main worker -Q scans,shards,notifications,housekeeping`."""

from shared.logs import configure_logging
from shared.settings import Settings
from workers.celery_app import create_celery

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_celery(settings)
