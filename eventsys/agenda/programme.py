"""The printable programme: a published agenda as an A4 or A5 PDF booklet, rendered by WeasyPrint.

Built from a version's snapshot (``services.PublishedAgenda``), so it holds exactly what the public agenda shows:
public scheduled sessions, never hidden ones, never a stream or join link (the snapshot has none). Times are in
the event's zone, which the title block states. Sessions come by day and start time; parallel sessions are
grouped, plenary ones (all rooms) stand out across the page.

Rendering goes through ``eventsys.common.pdf`` (the locked-down URL fetcher and the Noto fonts the badges and
certificates use). The template is autoescaped: a title such as ``<img src="file:///etc/passwd">`` prints as
text and nothing is fetched. ``programme.css`` holds the typography; ``programme-a4.css`` / ``programme-a5.css``
the page size, the margins (mirrored for two-sided printing) and the type size; all three are parsed once per
process.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_interval
from flask import render_template
from flask_babel import get_locale

from eventsys.agenda.models import SessionKind
from eventsys.agenda.services import PublishedAgenda, PublishedSession
from eventsys.common import pdf
from eventsys.common.timefmt import zone_label
from eventsys.events.models import Event

#: The sizes a reader may ask for, and the stylesheet that sets each (inside static/).
SIZES = {"a4": pdf.STATIC_ROOT / "css" / "programme-a4.css", "a5": pdf.STATIC_ROOT / "css" / "programme-a5.css"}
STYLESHEET = pdf.STATIC_ROOT / "css" / "programme.css"


@dataclass
class Slot:
    """Sessions starting at the same time: one plenary or several parallel sessions, in room order."""

    start: datetime
    sessions: list[PublishedSession]

    @property
    def parallel(self) -> bool:
        return len(self.sessions) > 1


@dataclass
class Day:
    date: date
    slots: list[Slot] = field(default_factory=list)


def programme_days(agenda: PublishedAgenda, zone: str) -> list[Day]:
    """The sessions by day in ``zone``, then by start time; in a slot, plenaries first, then by room order."""
    tz = ZoneInfo(zone)
    room_order = {room["id"]: position for position, room in enumerate(agenda.rooms)}
    by_day: dict[date, dict[datetime, list[PublishedSession]]] = defaultdict(lambda: defaultdict(list))
    for session in agenda.sessions:
        by_day[session.starts_at.astimezone(tz).date()][session.starts_at].append(session)
    days = []
    for day in sorted(by_day):
        slots = []
        for start in sorted(by_day[day]):
            group = sorted(
                by_day[day][start],
                key=lambda s: (
                    not s.plenary,
                    room_order.get(s.room["id"], len(room_order)) if s.room else len(room_order),
                    s.id,
                ),
            )
            slots.append(Slot(start=start, sessions=group))
        days.append(Day(date=day, slots=slots))
    return days


def speaker_index(agenda: PublishedAgenda) -> list[dict[str, Any]]:
    """Everyone on the programme, by name, with the sessions they are on (for the index's page numbers)."""
    people: dict[int, dict[str, Any]] = {}
    for session in agenda.sessions:
        for person, _role in session.speakers:
            entry = people.setdefault(person["id"], {"person": person, "session_ids": []})
            if session.id not in entry["session_ids"]:
                entry["session_ids"].append(session.id)
    return sorted(people.values(), key=lambda e: (e["person"]["name"].casefold(), e["person"]["id"]))


def _date_range(event: Event, locale: str) -> str:
    tz = event.tz
    start, end = event.starts_at.astimezone(tz), event.ends_at.astimezone(tz)
    if start.date() == end.date():
        from babel.dates import format_date

        return format_date(start, format="full", locale=locale)
    return format_interval(start.date(), end.date(), skeleton="yMMMMd", locale=locale)


def programme_html(event: Event, agenda: PublishedAgenda, size: str, *, draft: bool = False) -> str:
    """The programme as an HTML document (autoescaped) in the current request's language."""
    if size not in SIZES:
        raise ValueError(f"unknown programme size {size!r}")
    locale = str(get_locale() or "en")
    zone = event.timezone
    days = programme_days(agenda, zone)
    first = agenda.sessions[0].starts_at if agenda.sessions else event.starts_at
    return render_template(
        "agenda/programme.html",
        event=event,
        agenda=agenda,
        days=days,
        zone=zone,
        zone_name=zone.replace("_", " "),
        zone_offset=zone_label(first, zone).split(", ", 1)[-1],
        dates=_date_range(event, locale),
        people=speaker_index(agenda),
        size=size,
        lang=locale.replace("_", "-"),
        draft=draft,
        break_kind=SessionKind.BREAK,
    )


def warm_up() -> None:
    """Parse the stylesheets and load the fonts now (the first programme of a process is then not slower)."""
    for path in (STYLESHEET, *SIZES.values()):
        pdf.stylesheet(path)
    pdf.font_config()


def render_programme(
    event: Event,
    agenda: PublishedAgenda,
    size: str = "a4",
    *,
    draft: bool = False,
    url_fetcher: pdf.SafeURLFetcher | None = None,
) -> bytes:
    """The programme as PDF bytes (A4 or A5, two-sided margins), in the current request's language."""
    html = programme_html(event, agenda, size, draft=draft)
    return pdf.render_pdf(
        html,
        stylesheets=[pdf.stylesheet(STYLESHEET), pdf.stylesheet(SIZES[size])],
        url_fetcher=url_fetcher,
    )
