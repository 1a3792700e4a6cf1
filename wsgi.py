"""WSGI entry point: ``gunicorn wsgi:app``. EVENTSYS_CONFIG picks the configuration (default production)."""

import os

from eventsys import create_app

app = create_app(os.environ.get("EVENTSYS_CONFIG", "production"))
