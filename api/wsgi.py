"""WSGI entry point for gunicorn: `gunicorn -c python:api.gunicorn_conf 'api.wsgi:app'`."""

from api.app import create_app
from shared.platform import metrics
from shared.platform.logs import configure_logging
from shared.platform.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
metrics.configure(settings)
app = create_app(settings)
