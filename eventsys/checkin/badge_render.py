"""Badge PDFs: one badge for a download, or thousands in chunks on two worker processes.

The caller (``eventsys.checkin.badges``) turns badges into plain values (``BadgeSheetItem``), already
translated, so rendering needs neither Flask nor the database: a worker process gets a list of items and
returns PDF bytes (the QR is drawn there).

Speed and memory (the 1,000-badge target is 5 s and 200 MB on two cores), with
``eventsys.common.pdf.render_chunks`` doing the parallel part for badges and certificates alike:
- workers are forked from a fork server that has imported WeasyPrint and this module (not the web stack)
  and run ``warm_up`` (template, stylesheet, a sample badge in every script and weight, so fonts are loaded),
  so every worker starts warm; ``start_workers`` starts that server while the caller still queries;
- the QR is an 8-bit greyscale PNG of one pixel per module (``eventsys.common.qr``, about 0.25 ms a code),
  which WeasyPrint embeds without re-encoding;
- badges are rendered ``CHUNK`` at a time (badges have no page counters, so chunks are independent: 100 is
  where the per-chunk costs, font subsetting above all, stop mattering and a worker still stays near 170 MB),
  with the garbage collector paused during a chunk; workers are replaced after ``CHUNKS_PER_WORKER`` chunks;
- chunks are written into the output as they arrive, in order, without holding the whole document.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import jinja2

from eventsys.common import pdf, qr
from eventsys.common.pdf import text_direction

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = "badges/pdf/document.html"
STYLESHEET = ROOT / "static" / "css" / "badge.css"

LAYOUTS = ("a6", "a4x4", "labels")
#: Badges per chunk rendered in one WeasyPrint document.
CHUNK = 100
#: Chunks a worker process renders before it is replaced (bounds its memory).
CHUNKS_PER_WORKER = 20
#: Worker processes for a bulk run.
PROCESSES = 2


@dataclass(frozen=True)
class LabelSpec:
    """A label sheet: labels of ``width`` x ``height`` mm, ``columns`` x ``rows`` on A4, positions in mm."""

    columns: int = 2
    rows: int = 5
    width: float = 85
    height: float = 54
    left: float = 15
    top: float = 13.5
    pitch_x: float = 95
    pitch_y: float = 54

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


LABELS = LabelSpec()


@dataclass(frozen=True)
class BadgeSheetItem:
    """Everything printed on one badge, prepared by the caller (translated, escaped by the template)."""

    name: str
    organization: str
    title: str
    category_key: str
    category_label: str
    event_name: str
    event_dates: str
    #: The signed badge code the QR carries (drawn by the renderer, in the worker processes).
    code: str
    qr_alt: str
    #: The QR as a ``data:`` URI if already drawn (a bulk run draws them while its workers start), else "".
    qr_uri: str = ""


# --- Name sizing ------------------------------------------------------------------------------------------

_MM_PER_PT = 25.4 / 72
#: (box width mm, box height mm, largest pt, smallest pt) of the name per layout (see static/css/badge.css).
NAME_BOX = {"a6": (93.0, 32.0, 40.0, 13.0), "a4x4": (93.0, 32.0, 40.0, 13.0), "labels": (50.0, 21.0, 22.0, 8.0)}
_LINE_HEIGHT = 1.12


def _advance_em(char: str) -> float:
    """A generous estimate of a character's advance in em in the Noto fonts (bold)."""
    if char == " ":
        return 0.28
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if char.isupper():
        return 0.72
    category = unicodedata.category(char)
    if category.startswith("M"):  # combining marks take no room of their own
        return 0.0
    if "\u0600" <= char <= "\u06ff":
        return 0.55
    if char in "iljtf.,'I!|":
        return 0.33
    if char in "mwMW":
        return 0.9
    return 0.6


@dataclass(frozen=True)
class NameFit:
    """How a name is set: font size (pt), top padding (mm) that centres it in its box, and whether it wraps."""

    pt: float
    pad_mm: float
    long: bool


def name_font_size(name: str, layout: str = "a6") -> NameFit:
    """As large as fits the name box on one line, else on two, never below the layout's floor.

    The estimate of the width is generous; the box also clips (``overflow: hidden``) and a name that needs
    two lines may break anywhere (``.long``), so even an extreme name can never run off the badge.
    """
    width, height, largest, smallest = NAME_BOX[layout]
    em = max(sum(_advance_em(c) for c in name), 1.0)
    one_line = width / (em * _MM_PER_PT)
    if one_line >= smallest * 1.6:
        pt = round(min(one_line * 0.97, largest), 1)
        lines = 1
    else:
        # Two lines: about half the text on each (less at word boundaries), and both must fit the height.
        pt = round(
            max(smallest, min(2 * width / (em * _MM_PER_PT) * 0.85, height / (2 * _LINE_HEIGHT * _MM_PER_PT))), 1
        )
        lines = 2
    pad = max(0.0, (height - lines * pt * _LINE_HEIGHT * _MM_PER_PT) / 2)
    return NameFit(pt=pt, pad_mm=round(pad, 1), long=lines > 1)


# --- Rendering in this process -----------------------------------------------------------------------------


def _template() -> jinja2.Template:
    return pdf.template(TEMPLATE)


@pdf.warm_up_workers
def warm_up() -> None:
    """Load the template, the stylesheet and the fonts now: render a sample badge in every script and weight
    (in the workers' fork server, so that each worker starts with them loaded)."""
    _template()
    pdf.stylesheet(STYLESHEET)
    pdf.font_config()
    render_badges([_SAMPLE], "a6")


_SAMPLE = BadgeSheetItem(
    name="Zoë Łukasz 김서연 محمد Ольга",
    organization="서울디지털재단 Ville de Paris",
    title="정책관 Director",
    category_key="speaker",
    category_label="Speaker",
    event_name="WeGO 2022",
    event_dates="23 Feb 2022 \u2013 24 Feb 2022",
    code="WARMUP",
    qr_alt="Badge code",
)


def document_html(items: Sequence[BadgeSheetItem], layout: str, *, lang: str = "en", title: str = "Badges") -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown badge layout {layout!r}")
    badges = []
    for item in items:
        fit = name_font_size(item.name, layout)
        badges.append(
            {
                **asdict(item),
                "name_pt": fit.pt,
                "name_pad": fit.pad_mm,
                "name_long": fit.long,
                "name_dir": text_direction(item.name),
                "org_dir": text_direction(item.organization),
                "title_dir": text_direction(item.title),
                "qr_uri": item.qr_uri or qr.qr_png_data_uri(item.code),
            }
        )
    return _template().render(badges=badges, layout=layout, spec=LABELS, lang=lang, title=title)


def render_badges(
    items: Sequence[BadgeSheetItem],
    layout: str = "a6",
    *,
    lang: str = "en",
    title: str = "Badges",
    url_fetcher: pdf.SafeURLFetcher | None = None,
) -> bytes:
    """One PDF of ``items`` in ``layout``, rendered in this process (a download, or one chunk)."""
    html = document_html(items, layout, lang=lang, title=title)
    return pdf.render_pdf(html, stylesheets=[pdf.stylesheet(STYLESHEET)], url_fetcher=url_fetcher)


def _render_chunk(job: tuple[list[BadgeSheetItem], str, str, str]) -> bytes:
    items, layout, lang, title = job
    return render_badges(items, layout, lang=lang, title=title)


# --- Bulk: chunks on worker processes, merged with pypdf (eventsys.common.pdf.render_chunks) ---------------


def chunks(items: Sequence[BadgeSheetItem], layout: str, size: int = CHUNK) -> Iterator[list[BadgeSheetItem]]:
    """Chunks of about ``size`` badges that start on a fresh sheet (a multiple of the badges per page)."""
    per_page = {"a6": 1, "a4x4": 4, "labels": LABELS.per_sheet}[layout]
    return pdf.chunked(items, max(per_page, size - size % per_page))


def start_workers() -> None:
    """Start the render workers' fork server now (its imports and warm-up overlap the caller's queries)."""
    pdf.start_workers([__name__])


def render_bulk(
    items: Sequence[BadgeSheetItem],
    layout: str,
    out: BinaryIO,
    *,
    lang: str = "en",
    title: str = "Badges",
    processes: int = PROCESSES,
    chunk_size: int = CHUNK,
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Render ``items`` into ``out`` as one PDF; ``progress(done)`` after each chunk. Returns the page count."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown badge layout {layout!r}")
    if processes > 1 and len(items) > chunk_size:
        start_workers()  # (if the caller has not yet) and draw the QR codes here while the server starts
        items = [item if item.qr_uri else replace(item, qr_uri=qr.qr_png_data_uri(item.code)) for item in items]
    jobs = [(chunk, layout, lang, title) for chunk in chunks(items, layout, chunk_size)]
    done = 0

    def on_chunk(job: tuple[list[BadgeSheetItem], str, str, str], reader: Any) -> None:
        nonlocal done
        done += len(job[0])
        if progress is not None:
            progress(done)

    return pdf.render_chunks(
        _render_chunk,
        jobs,
        out,
        title=title,
        processes=processes,
        warm_up=warm_up,
        preload=[__name__],
        chunks_per_worker=CHUNKS_PER_WORKER,
        on_chunk=on_chunk,
    )


__all__ = [
    "LABELS",
    "LAYOUTS",
    "BadgeSheetItem",
    "LabelSpec",
    "document_html",
    "name_font_size",
    "render_badges",
    "render_bulk",
    "start_workers",
    "text_direction",
    "warm_up",
]
