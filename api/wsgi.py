"""WSGI entry point for gunicorn: `gunicorn -c python:api.gunicorn_conf 'api.wsgi:app'`."""

from api import create_app
from shared import metrics
from shared.logs import configure_logging
from shared.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
metrics.configure(settings)
app = create_app(settings)
