"""WSGI entry point: ``gunicorn wsgi:app``. EVENTSYS_CONFIG picks the configuration (default production)."""

import gc
import os

from eventsys import create_app

app = create_app(os.environ.get("EVENTSYS_CONFIG", "production"))

# Everything alive now (the modules, the app, its mappers and forms: about 190,000 objects) lives as long as the
# worker. Frozen, the collector's full collections no longer walk it: they took ~100 ms in a worker (a request's
# p99), and take well under a millisecond after. Only here, once per process: the tests build many apps.
gc.collect()
gc.freeze()
