"""The comparison for bench/badges.py: the same badges drawn with ReportLab, as pretix and Indico do.

    python bench/badges_reportlab.py DATABASE_URL WORKDIR EVENT_ID

Run by ``bench/badges.py`` in a fresh process on the database it seeded. Like the WeasyPrint job, it loads
the event's confirmed in-person badges (the same rows, translated the same way), then draws one A6 page per
badge on one ReportLab canvas, in one process (pretix renders a badge export on one canvas in its worker):

- the same design: the event name and date over a rule in the category colour, the name as large as fits
  (one line, else two, 40 to 13 pt), organization, title, the QR (ReportLab's ``QrCodeWidget``, level M, 36 mm
  with its quiet zone), and the category band with its label;
- the same fonts where ReportLab can use them: Debian's Noto Sans and Noto Sans Arabic TrueType files,
  registered with ``TTFont`` and embedded as subsets. ReportLab cannot read the Noto CJK files (CFF outlines,
  "postscript outlines are not supported"), so Hangul uses its built-in CID font ``HYGothic-Medium``, which is
  not embedded at all (the viewer supplies a Korean font): less work than WeasyPrint does, so the comparison
  favours ReportLab. ReportLab does not shape Arabic either (letters stay in isolated forms, left to right);
  WeasyPrint (Pango/HarfBuzz) does.

Prints one JSON line: ``seconds`` (from loading the badges to the file written), ``process_seconds`` (with
the interpreter start and imports), ``pages`` and ``peak_rss_mb`` (this process).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONTS = {
    "Sans": FONT_DIR / "NotoSans-Regular.ttf",
    "Sans-Bold": FONT_DIR / "NotoSans-Bold.ttf",
    "Arabic-Bold": FONT_DIR / "NotoSansArabic-Bold.ttf",
    "Arabic": FONT_DIR / "NotoSansArabic-Regular.ttf",
}
KOREAN = "HYGothic-Medium"


def register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    for name, path in FONTS.items():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFont(UnicodeCIDFont(KOREAN))


def font_for(text: str, bold: bool) -> str:
    """No font fallback in ReportLab: pick one font for the whole string by its script."""
    if any(
        "\uac00" <= char <= "\ud7a3" or "\u1100" <= char <= "\u11ff" or "\u3130" <= char <= "\u318f" for char in text
    ):
        return KOREAN
    if any("\u0600" <= char <= "\u06ff" for char in text):
        return "Arabic-Bold" if bold else "Arabic"
    return "Sans-Bold" if bold else "Sans"


def load_items(database_url: str, workdir: Path, event_id: int) -> list:  # type: ignore[type-arg]
    """The badges to print, as ``render_batch`` prepares them for WeasyPrint (``BadgeSheetItem``)."""
    import sqlalchemy as sa
    from flask_babel import force_locale

    from eventsys.checkin import badges
    from eventsys.events.models import Event, Person
    from eventsys.extensions import db
    from eventsys.registration.models import Registration

    sys.path.insert(0, str(ROOT / "bench"))
    from badges import make_app  # type: ignore[import-not-found]

    app = make_app(database_url, workdir)
    with app.app_context(), force_locale("en"):
        event = db.session.get(Event, event_id)
        rows = badges.badges_to_print(event)
        registrations = {
            registration.id: registration
            for registration in db.session.scalars(
                sa.select(Registration)
                .where(Registration.id.in_([badge.registration_id for badge in rows]))
                .options(sa.orm.selectinload(Registration.person).selectinload(Person.organization))
            )
        }
        dates = badges.event_dates(event)
        items = []
        for badge in rows:
            registration = registrations[badge.registration_id]
            items.append(badges.sheet_item(badge, registration.person, registration, event, dates))
        colours = {category.value: colour for category, colour in badges.CATEGORY_COLOURS.items()}
    items.sort(key=lambda item: item.name.casefold())
    return [(item, colours.get(item.category_key, "#546e7a")) for item in items]


def draw_badges(items: list, path: Path) -> int:  # type: ignore[type-arg]
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.colors import HexColor, white
    from reportlab.lib.pagesizes import A6
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    width, height = A6
    canvas = Canvas(str(path), pagesize=A6)
    canvas.setTitle("Badges")
    for item, colour in items:
        band = HexColor(colour)
        # Header: event name and date over a rule in the category colour.
        canvas.setFillColor(HexColor("#111111"))
        canvas.setFont(font_for(item.event_name, True), 10.5)
        canvas.drawCentredString(width / 2, height - 10 * mm, item.event_name)
        canvas.setFont(font_for(item.event_dates, False), 8.5)
        canvas.setFillColor(HexColor("#444444"))
        canvas.drawCentredString(width / 2, height - 14.5 * mm, item.event_dates)
        canvas.setFillColor(band)
        canvas.rect(0, height - 21 * mm, width, 1.2 * mm, stroke=0, fill=1)
        # The name: as large as fits one line of 93 mm, else two lines, 40 to 13 pt.
        canvas.setFillColor(HexColor("#111111"))
        font = font_for(item.name, True)
        box = 93 * mm
        one_pt = stringWidth(item.name, font, 1) or 1
        size = min(40.0, box / one_pt)
        top = height - 24 * mm
        if size >= 13 * 1.6:
            canvas.setFont(font, size)
            canvas.drawCentredString(width / 2, top - 16 * mm - size * 0.35, item.name)
        else:
            size = max(13.0, min(2 * box / one_pt * 0.85, 32 * mm / 2.3))
            lines = simpleSplit(item.name, font, size, box)[:2]
            canvas.setFont(font, size)
            for n, line in enumerate(lines):
                canvas.drawCentredString(width / 2, top - 12 * mm - n * size * 1.12, line)
        # Organization and title.
        canvas.setFont(font_for(item.organization, True), 12)
        canvas.drawCentredString(width / 2, height - 63 * mm, item.organization)
        canvas.setFillColor(HexColor("#333333"))
        canvas.setFont(font_for(item.title, False), 9)
        canvas.drawCentredString(width / 2, height - 70 * mm, item.title)
        # The QR: 36 mm with its quiet zone.
        side = 36 * mm
        widget = QrCodeWidget(item.code, barLevel="M", barWidth=side, barHeight=side)
        drawing = Drawing(side, side)
        drawing.add(widget)
        renderPDF.draw(drawing, canvas, (width - side) / 2, 35.3 * mm)
        # The category band and its label.
        canvas.setFillColor(band)
        canvas.rect(0, 0, width, 22 * mm, stroke=0, fill=1)
        canvas.setFillColor(white)
        canvas.setFont(font_for(item.category_label, True), 17)
        canvas.drawCentredString(width / 2, 9 * mm, item.category_label.upper())
        canvas.showPage()
    canvas.save()
    return len(items)


def main(database_url: str, workdir: Path, event_id: int) -> None:
    imported = time.perf_counter()
    register_fonts()
    items = load_items(database_url, workdir, event_id)
    path = workdir / "badges-reportlab.pdf"
    pages = draw_badges(items, path)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": done - imported,
                "process_seconds": done - STARTED,
                "pages": pages,
                "bytes": path.stat().st_size,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
