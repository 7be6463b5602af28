"""WSGI entry point for gunicorn: `gunicorn -c python:api.gunicorn_conf 'api.wsgi:app'`."""

import gc

from api.app import create_app
from shared.catalog.service import Catalog
from shared.platform import metrics
from shared.platform.logs import configure_logging
from shared.platform.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
metrics.configure(settings)
app = create_app(settings)

# What every request reads is built now (the built-in catalogue: about 600 compiled policies and 7
# frameworks), then frozen with the app out of the cyclic collector's reach: its full collections
# no longer walk them (they paused a request for 60-180 ms about once in 50).
Catalog.builtin()
gc.collect()
gc.freeze()
