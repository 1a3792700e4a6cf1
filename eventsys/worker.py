"""The task-queue worker: ``huey_consumer eventsys.worker.huey`` (``make run`` starts it beside the web server).

It builds the app once (``EVENTSYS_CONFIG``, production by default, with the same environment variables
as the web server, so both use the same database and queue storage) and runs every task in it. Importing
the app imports every task module, so the consumer knows every task and periodic job.
"""

from __future__ import annotations

import logging
import os

from eventsys import create_app
from eventsys.common.tasks import huey, set_worker_app

app = create_app(os.environ.get("EVENTSYS_CONFIG", "production"), TASKS_IMMEDIATE=False)
set_worker_app(app)

# The consumer configures the "huey" logger only; show ours too (e.g. where a development mail was written).
logging.getLogger("eventsys").setLevel(logging.INFO)
if not logging.getLogger("eventsys").handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s:%(name)s: %(message)s"))
    logging.getLogger("eventsys").addHandler(_handler)

__all__ = ["app", "huey"]
