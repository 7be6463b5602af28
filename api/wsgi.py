"""WSGI entry point for gunicorn: `gunicorn 'api.wsgi:app'`."""

from api import create_app
from shared.logs import configure_logging
from shared.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app(settings)
