"""Imported first by the fork server that PDF render workers are forked from (see ``eventsys.common.pdf``).

The fork server is a fresh interpreter that imports the renderer modules once, so that every worker forked
from it starts with WeasyPrint loaded. Importing ``eventsys.checkin.badge_render`` normally runs the package's
``__init__`` first, which builds nothing but imports the whole web stack (Flask, SQLAlchemy, Alembic, Babel):
about half a second and 55 MB that every worker would then carry. Renderers need none of it, so here
``eventsys`` is registered as a bare package (its folder as ``__path__``, no ``__init__`` run) and the
renderers' own modules are imported through it.

This folder is on the fork server's ``sys.path`` only (``eventsys.common.pdf.start_workers``), so this module
is importable without importing ``eventsys``; it is never imported by the app itself.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

if "eventsys" not in sys.modules:
    package = types.ModuleType("eventsys", "eventsys, without its web stack: a PDF render worker")
    package.__path__ = [str(Path(__file__).resolve().parent.parent.parent)]
    sys.modules["eventsys"] = package
