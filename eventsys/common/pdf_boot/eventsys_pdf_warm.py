"""Imported last by the PDF workers' fork server: runs the renderers' warm-ups once, before any fork.

Each renderer module registers its ``warm_up`` with ``eventsys.common.pdf.warm_up_workers`` when imported
(the fork server imports them just before this). A warm-up parses the template and stylesheet and renders a
sample with every font family, so that fontconfig, Pango and the font files are loaded here once, and every
worker forked afterwards starts with them (instead of paying for it on its first chunk).
"""

from __future__ import annotations

from eventsys.common import pdf

pdf.run_worker_warm_ups()
