"""The printable programme: the published agenda as an A4 or A5 PDF (WeasyPrint), read back with pypdf.

What is printed (sessions in order, times in the event's zone, speakers with role and organization, rooms,
plenaries), what never is (hidden sessions, stream and join links), the page sizes, real glyphs for Hangul,
Spanish and Arabic names with the fonts embedded, a hostile title printed as text with nothing fetched, the
404 before the first version, the organizer's draft preview, 304s, and a fixed number of queries.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from eventsys.agenda import programme, services
from eventsys.agenda.models import SessionFormat, SessionKind, SpeakerRole
from eventsys.common import pdf
from eventsys.extensions import db
from tests import factories
from tests.agenda.conftest import publish
from tests.agenda.test_feeds import _queries, big_agenda

POINTS_PER_MM = 72 / 25.4


def pdf_text(data: bytes) -> str:
    """The document's text, pages in order, whitespace folded into single spaces."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def page_sizes_mm(data: bytes) -> set[tuple[int, int]]:
    reader = PdfReader(io.BytesIO(data))
    return {
        (round(float(page.mediabox.width) / POINTS_PER_MM), round(float(page.mediabox.height) / POINTS_PER_MM))
        for page in reader.pages
    }


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Every font the pages use: its name, and whether its glyphs are embedded in the file (a FontFile stream)."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"].get_object().get("/Font", {}).values():
            font = ref.get_object()
            descriptor_owner = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descriptor_owner["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


def local_time(value, zone: str) -> str:
    """A time as the English programme prints it (h:mm, the hour without a leading zero)."""
    return value.astimezone(ZoneInfo(zone)).strftime("%-I:%M")


def get_pdf(client, url: str, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return response


# --- what the programme prints ----------------------------------------------------------------------------------


def test_the_programme_prints_the_published_sessions_in_order_in_the_event_zone(client, agenda) -> None:
    event = agenda["event"]
    event.venue_name = "Seoul City Hall"
    hall_org = factories.OrganizationFactory(name="Seoul Metropolitan Government")
    agenda["mayor"].organization = hall_org
    agenda["activities"].stream_url = "https://stream.example.org/secret-stream"
    agenda["activities"].kind = SessionKind.PANEL
    hidden = factories.SessionFactory(
        event=event,
        title="Staff briefing",
        is_public=False,
        stream_url="https://meet.example.org/staff-only",
        starts_at=event.starts_at + timedelta(minutes=5),
        ends_at=event.starts_at + timedelta(minutes=10),
    )
    closing = factories.SessionFactory(
        event=event,
        title="Closing ceremony",
        kind=SessionKind.CEREMONY,
        format=SessionFormat.IN_PERSON,
        plenary=True,
        starts_at=event.starts_at + timedelta(hours=2),
        ends_at=event.starts_at + timedelta(hours=2, minutes=30),
    )
    online = factories.SessionFactory(
        event=event,
        title="Remote keynote",
        kind=SessionKind.KEYNOTE,
        format=SessionFormat.ONLINE,
        stream_url="https://stream.example.org/keynote",
        starts_at=event.starts_at + timedelta(hours=1),
        ends_at=event.starts_at + timedelta(hours=1, minutes=20),
    )
    db.session.flush()
    publish(event)

    response = get_pdf(client, f"/events/{event.slug}/programme.pdf")
    assert 'filename="' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)

    titles = ["Opening remarks", "WeGO activities 2022", "Remote keynote", "Closing ceremony"]
    positions = [text.find(title) for title in titles]
    assert -1 not in positions and positions == sorted(positions), (positions, text)
    # Event title, dates, venue, and the zone said once on the page; times in Seoul, start and end.
    assert event.name in text and "Seoul City Hall" in text
    assert "Asia/Seoul" in text and "UTC+9" in text
    opening = agenda["opening"]
    assert local_time(opening.starts_at, "Asia/Seoul") in text and local_time(opening.ends_at, "Asia/Seoul") in text
    assert local_time(closing.starts_at, "Asia/Seoul") in text
    # Speakers with role and organization; rooms; type and format; the plenary across all rooms; online: no room.
    assert "Se-hoon Oh" in text and "Mayor of Seoul, Seoul Metropolitan Government" in text
    assert re.search(r"MODERATOR\s*Se-hoon Oh", text, re.I)
    assert "Jung Sook Park" in text and "Secretary General of WeGO" in text
    assert "GRAND HALL" in text.upper() and "SEMINAR ROOM" in text.upper()
    assert re.search(r"ALL ROOMS\s*·\s*CEREMONY\s*·\s*IN PERSON", text.upper())
    assert re.search(r"(?<!·) KEYNOTE\s*·\s*ONLINE", text.upper())  # no room for an online-only session
    assert re.search(r"SEMINAR ROOM\s*·\s*PANEL\s*·\s*HYBRID", text.upper())
    # Never: hidden or unscheduled sessions, stream or join links (nor any outside link at all).
    assert hidden.title not in text and agenda["unscheduled"].title not in text
    for secret in ("secret-stream", "staff-only", "keynote", event.online_url, "/join/", "stream.example.org"):
        assert secret not in text.replace("Remote keynote", "").replace("KEYNOTE", ""), secret
    assert b"/URI" not in response.data and b"stream.example.org" not in response.data
    assert online.stream_url.encode() not in response.data
    # A page number and the running header (the event's name) on the second page on, and the speakers' index.
    assert "Speakers" in text


def test_a4_and_a5_page_sizes(client, agenda) -> None:
    publish(agenda["event"])
    url = f"/events/{agenda['event'].slug}/programme.pdf"
    a4 = get_pdf(client, url + "?size=a4").data
    a5 = get_pdf(client, url + "?size=a5").data
    assert page_sizes_mm(a4) == {(210, 297)}
    assert page_sizes_mm(a5) == {(148, 210)}
    assert page_sizes_mm(get_pdf(client, url).data) == {(210, 297)}  # A4 unless asked
    assert client.get(url + "?size=letter").status_code == 400
    first_a5 = PdfReader(io.BytesIO(a5)).pages[0].mediabox
    assert (round(float(first_a5.width), 1), round(float(first_a5.height), 1)) == (419.5, 595.3)


def test_a_long_agenda_runs_over_numbered_pages_with_a_running_header(client, app) -> None:
    event = big_agenda(60, 30, 4)
    data = get_pdf(client, f"/events/{event.slug}/programme.pdf?size=a5").data
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 4
    day = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \w+ \d{1,2}, \d{4}\b")
    for number, page in enumerate(reader.pages[1:], start=2):
        text = page.extract_text()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # The footer: the page number and the zone the times are in (pypdf may join them on one line).
        footer = lines[-1].replace("America/Mexico City (UTC-6)", "").split()
        assert footer == [str(number)], (number, lines[-2:])
        assert "America/Mexico City (UTC-6)" in lines[-1] or "America/Mexico City (UTC-6)" in lines[-2]
        if number % 2 == 0:  # a left-hand page: the event's name on its outer edge
            assert event.name in lines, (number, lines)
        else:  # a right-hand page: the day (or the index) it shows
            assert any(day.fullmatch(line) or line == "Speakers" for line in lines), (number, lines)
    # Parallel sessions (four rooms at once) are grouped and labelled.
    assert "PARALLEL SESSIONS" in pdf_text(data).upper()


@pytest.mark.parametrize(
    ("name", "font"),
    [("김철수", "CJK"), ("José Ñúñez Peña", "Noto"), ("محمد بن راشد", "Arabic")],
    ids=["hangul", "spanish", "arabic"],
)
def test_names_in_any_script_print_with_real_glyphs_and_embedded_fonts(client, agenda, name, font) -> None:
    event = agenda["event"]
    person = factories.PersonFactory(name=name, title="개회사 연설자" if font == "CJK" else "Ponente")
    services.set_speakers(agenda["opening"], [(person, SpeakerRole.SPEAKER)])
    agenda["opening"].title = "개회사 · Opening remarks"
    db.session.flush()
    publish(event)
    data = get_pdf(client, f"/events/{event.slug}/programme.pdf?size=a5").data
    text = pdf_text(data)
    if font == "Arabic":
        # Extraction gives Arabic in visual order: every word is there in its own letters (no boxes, no "?").
        assert all(word in text or word[::-1] in text for word in name.split()), text
    else:
        assert name in text, text
    assert "개회사 · Opening remarks" in text
    fonts = embedded_fonts(data)
    assert any(font in base for base in fonts), fonts
    assert all(fonts.values()), fonts  # every font is embedded, none left to the reader's machine
    assert all("Noto" in base for base in fonts), fonts


def test_a_hostile_title_prints_as_text_and_fetches_nothing(app, agenda) -> None:
    event = agenda["event"]
    hostile = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://169.254.169.254/x.css">'
    agenda["opening"].title = hostile
    agenda["mayor"].name = '<script>alert(1)</script><img src="http://169.254.169.254/">'
    db.session.flush()
    publish(event)
    fetcher = pdf.safe_url_fetcher()
    with app.test_request_context():
        agenda_view = services.published_agenda(services.latest_version(event.id))
        data = programme.render_programme(event, agenda_view, "a4", url_fetcher=fetcher)
    assert fetcher.calls == []  # nothing asked for: the markup stayed text
    text = pdf_text(data)
    assert '<img src="file:///etc/passwd">' in text
    assert "<script>alert(1)</script>" in text
    assert b"root:x:0:0" not in data


# --- who gets it, and when --------------------------------------------------------------------------------------


def test_before_the_first_version_the_programme_is_404_with_a_clear_message(client, agenda) -> None:
    response = client.get(f"/events/{agenda['event'].slug}/programme.pdf")
    assert response.status_code == 404
    assert "The programme is not published yet" in response.get_data(as_text=True)


def test_a_draft_event_has_no_public_programme(client, agenda) -> None:
    agenda["event"].status = factories.EventStatus.DRAFT
    publish(agenda["event"])
    assert client.get(f"/events/{agenda['event'].slug}/programme.pdf").status_code == 404


def test_only_the_latest_published_version_is_printed(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    agenda["opening"].title = "Opening remarks (revised)"
    db.session.flush()
    text = pdf_text(get_pdf(client, f"/events/{event.slug}/programme.pdf").data)
    assert "Opening remarks" in text and "(revised)" not in text and "Version 1 of the agenda" in text
    publish(event)
    text = pdf_text(get_pdf(client, f"/events/{event.slug}/programme.pdf").data)
    assert "Opening remarks (revised)" in text and "Version 2 of the agenda" in text


def test_the_programme_prints_in_the_readers_language(client, agenda) -> None:
    publish(agenda["event"])
    url = f"/events/{agenda['event'].slug}/programme.pdf"
    english = get_pdf(client, url)
    korean = get_pdf(client, url, headers={"Accept-Language": "ko"})
    assert english.headers["ETag"] != korean.headers["ETag"]
    text = pdf_text(korean.data)
    assert "모든 시각은 행사 시간대 기준입니다" in text and "Asia/Seoul" in text
    assert "Opening remarks" in text and "Se-hoon Oh" in text and "사회자" in text  # the moderator's role
    assert "All times are in" not in text


def test_the_public_agenda_page_links_both_sizes(client, agenda) -> None:
    publish(agenda["event"])
    html = client.get(f"/events/{agenda['event'].slug}/agenda").get_data(as_text=True)
    slug = agenda["event"].slug
    assert f"/events/{slug}/programme.pdf?size=a4" in html and f"/events/{slug}/programme.pdf?size=a5" in html


def test_the_organizer_previews_the_draft_programme_others_may_not(browser, agenda) -> None:
    event = agenda["event"]
    publish(event)
    agenda["opening"].title = "Opening remarks, draft wording"
    hidden = factories.SessionFactory(event=event, title="Staff briefing", is_public=False)
    db.session.flush()
    url = f"/manage/events/{event.slug}/agenda/programme.pdf?size=a5"
    assert browser.client.get(url).status_code == 302  # to the login page

    outsider = factories.organizer_of(factories.EventFactory())
    assert browser.login(outsider.email).status_code == 302
    assert browser.client.get(url).status_code == 403
    browser.logout()

    organizer = factories.organizer_of(event)
    assert browser.login(organizer.email).status_code == 302
    response = get_pdf(browser.client, url)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert page_sizes_mm(response.data) == {(148, 210)}
    text = pdf_text(response.data)
    assert "Draft preview" in text and "Opening remarks, draft wording" in text
    assert hidden.title not in text and agenda["unscheduled"].title not in text
    # The public still gets the published version.
    public = pdf_text(get_pdf(browser.client, f"/events/{event.slug}/programme.pdf").data)
    assert "draft wording" not in public and "Draft preview" not in public
    builder = browser.client.get(f"/manage/events/{event.slug}/agenda").get_data(as_text=True)
    assert f"/manage/events/{event.slug}/agenda/programme.pdf?size=a5" in builder


def test_the_public_programme_answers_304_until_a_new_version(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    url = f"/events/{event.slug}/programme.pdf?size=a5"
    first = get_pdf(client, url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    # The other size is another document.
    assert client.get(url.replace("a5", "a4"), headers={"If-None-Match": etag}).status_code == 200
    agenda["opening"].title = "Opening remarks by the Mayor"
    db.session.flush()
    publish(event)
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Opening remarks by the Mayor" in pdf_text(changed.data)


def test_the_programme_runs_a_fixed_small_number_of_queries(client, app) -> None:
    counts = []
    for size in (30, 150):  # rendering dominates the time; five times the sessions, the same queries
        event = big_agenda(size, size // 2, 8)
        counts.append(_queries(client, f"/events/{event.slug}/programme.pdf?size=a5"))
    assert counts[0] == counts[1] and counts[0] <= 3, counts


def test_readers_asking_at_once_wait_for_one_rendering() -> None:
    """A big programme takes seconds: threads asking for the same version share one rendering."""
    import threading
    import time

    from eventsys.agenda import views

    builds, started, release = [], threading.Event(), threading.Event()

    def build() -> bytes:
        builds.append(1)
        started.set()
        release.wait(5)
        return b"%PDF-1.7 one rendering"

    key = ("programme-test", object())
    results: list[bytes] = []
    readers = [threading.Thread(target=lambda: results.append(views._rendered(key, build))) for _ in range(4)]
    for reader in readers:
        reader.start()
    assert started.wait(5)
    time.sleep(0.2)  # the other readers are waiting by now
    release.set()
    for reader in readers:
        reader.join(5)
    assert builds == [1] and results == [b"%PDF-1.7 one rendering"] * 4
    assert views._rendered(key, build) == b"%PDF-1.7 one rendering" and builds == [1]
