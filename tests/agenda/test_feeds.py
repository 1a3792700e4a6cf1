"""iCal feeds: the public agenda, one session, the private personal feed; parsed back by icalendar and vobject.

Also: time zone arithmetic across DST changes, escaping and folding, join links only in an online attendee's
private feed, 304s for polling clients, and a fixed number of SQL queries whatever the agenda's size.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from eventsys.agenda import services
from eventsys.agenda.models import FeedScope, Room, Session, SessionSpeaker, SpeakerRole
from eventsys.events.models import Person
from eventsys.extensions import db
from eventsys.registration.models import Mode
from tests import factories
from tests.agenda.conftest import publish


def parse(body: bytes):
    """Both parsers must accept the file; returns icalendar's calendar and vobject's."""
    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")  # CRLF only
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line  # folded at 75 octets
        assert line != b" "  # no empty continuation line
    return icalendar.Calendar.from_ical(body), vobject.readOne(body.decode("utf-8"))


def events_of(calendar: icalendar.Calendar) -> list:
    return [c for c in calendar.walk("VEVENT")]


def test_the_public_feed_is_rfc_5545_clean(client, agenda) -> None:
    event = agenda["event"]
    agenda["activities"].stream_url = "https://stream.example.org/secret-stream"
    version = publish(event)
    response = client.get(f"/events/{event.slug}/agenda.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    cal, vcal = parse(response.data)
    assert str(cal["X-WR-CALNAME"]) == f"{event.name}: agenda" and str(cal["METHOD"]) == "PUBLISH"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Seoul"]
    vevents = {str(e["SUMMARY"]): e for e in events_of(cal)}
    assert set(vevents) == {"Opening remarks", "WeGO activities 2022"}
    opening = vevents["Opening remarks"]
    assert str(opening["UID"]) == f"session-{agenda['opening'].id}@127.0.0.1"
    assert opening["DTSTART"].params["TZID"] == "Asia/Seoul"
    assert opening.decoded("DTSTART") == agenda["opening"].starts_at
    assert opening.decoded("DTSTAMP") == version.published_at.replace(microsecond=0)
    assert "Grand Hall" in str(opening["LOCATION"]) and event.venue_name in str(opening["LOCATION"])
    assert str(opening["URL"]).endswith(f"/events/{event.slug}/agenda/sessions/{agenda['opening'].id}")
    assert "Speaker: Se-hoon Oh (Mayor of Seoul" in str(opening["DESCRIPTION"])
    assert "Moderator: Se-hoon Oh" in str(vevents["WeGO activities 2022"]["DESCRIPTION"])
    assert b"CONFERENCE" not in response.data and b"secret-stream" not in response.data
    assert b"/join/" not in response.data and event.online_url.encode() not in response.data
    assert len(vcal.vevent_list) == 2
    assert {v.summary.value for v in vcal.vevent_list} == set(vevents)


def test_sequence_goes_up_when_a_session_changes_and_the_uid_stays(client, agenda) -> None:
    event, opening = agenda["event"], agenda["opening"]
    publish(event)
    first = {
        str(e["UID"]): int(e["SEQUENCE"])
        for e in events_of(parse(client.get(f"/events/{event.slug}/agenda.ics").data)[0])
    }
    services.schedule_session(
        opening, opening.starts_at + timedelta(minutes=5), opening.ends_at + timedelta(minutes=5), None
    )
    publish(event)
    second = {
        str(e["UID"]): int(e["SEQUENCE"])
        for e in events_of(parse(client.get(f"/events/{event.slug}/agenda.ics").data)[0])
    }
    uid = f"session-{opening.id}@127.0.0.1"
    assert first.keys() == second.keys()
    assert second[uid] == first[uid] + 1
    assert second[f"session-{agenda['activities'].id}@127.0.0.1"] == 0


def test_one_session_feed(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    response = client.get(f"/events/{event.slug}/agenda/sessions/{agenda['opening'].id}.ics")
    cal, vcal = parse(response.data)
    assert [str(e["SUMMARY"]) for e in events_of(cal)] == ["Opening remarks"]
    assert vcal.vevent.summary.value == "Opening remarks"
    assert client.get(f"/events/{event.slug}/agenda/sessions/{agenda['unscheduled'].id}.ics").status_code == 404


def test_polling_clients_get_304(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    url = f"/events/{event.slug}/agenda.ics"
    first = client.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    agenda["opening"].title = "Opening remarks by the Mayor"
    publish(event)
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert b"Opening remarks by the Mayor" in again.data


def test_titles_with_commas_semicolons_and_newlines_are_escaped_and_long_lines_folded(client, agenda) -> None:
    event = agenda["event"]
    agenda["opening"].title = "Welcome, partners; and friends: 환영합니다 — " + "WeGO Smart City Champions " * 4
    agenda["opening"].description = "Line one\nLine two, with a comma; and a semicolon\\ and a backslash"
    publish(event)
    body = client.get(f"/events/{event.slug}/agenda.ics").data
    assert b"Welcome\\, partners\\; and friends" in body
    assert b"Line one\\nLine two\\, with a comma\\; and a semicolon\\\\ and a backslash" in body.replace(b"\r\n ", b"")
    cal, vcal = parse(body)
    summaries = {str(e["SUMMARY"]) for e in events_of(cal)}
    assert agenda["opening"].title in summaries
    assert agenda["opening"].title in {v.summary.value for v in vcal.vevent_list}
    vopening = next(v for v in vcal.vevent_list if v.summary.value == agenda["opening"].title)
    assert vopening.description.value.endswith("Line one\nLine two, with a comma; and a semicolon\\ and a backslash")


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Mexico City still had DST in 2022: clocks went forward on 3 April (UTC-6 → UTC-5)...
        ("America/Mexico_City", datetime(2022, 4, 2, 10, 0), datetime(2022, 4, 4, 10, 0)),
        # ...and Berlin on 27 March 2022 (UTC+1 → UTC+2).
        ("Europe/Berlin", datetime(2022, 3, 26, 10, 0), datetime(2022, 3, 28, 10, 0)),
    ],
)
def test_times_across_a_dst_change(client, zone: str, before: datetime, after: datetime) -> None:
    tz = ZoneInfo(zone)
    start, end = (
        before.replace(tzinfo=tz).astimezone(UTC),
        (after + timedelta(hours=8)).replace(tzinfo=tz).astimezone(UTC),
    )
    event = factories.EventFactory(timezone=zone, starts_at=start, ends_at=end)
    sessions = [
        factories.SessionFactory(
            event=event,
            title=title,
            starts_at=local.replace(tzinfo=tz).astimezone(UTC),
            ends_at=(local + timedelta(hours=1)).replace(tzinfo=tz).astimezone(UTC),
        )
        for title, local in (("Before", before), ("After", after))
    ]
    publish(event)
    body = client.get(f"/events/{event.slug}/agenda.ics").data
    cal, vcal = parse(body)
    by_title = {str(e["SUMMARY"]): e for e in events_of(cal)}
    for session in sessions:
        vevent = by_title[session.title]
        assert vevent["DTSTART"].params["TZID"] == zone
        assert vevent.decoded("DTSTART") == session.starts_at  # the same instant
        assert vevent.decoded("DTSTART").replace(tzinfo=None).hour == 10  # 10:00 on the wall clock both days
    # The UTC offsets differ by an hour across the change: the VTIMEZONE carries the transition.
    offsets = {s.title: s.starts_at.astimezone(tz).utcoffset() for s in sessions}
    assert offsets["After"] - offsets["Before"] == timedelta(hours=1)
    vtimezone = cal.walk("VTIMEZONE")[0]
    assert vtimezone.walk("DAYLIGHT") and vtimezone.walk("STANDARD")
    # vobject resolves the times with the file's own VTIMEZONE, independently of icalendar.
    for vevent in vcal.vevent_list:
        session = next(s for s in sessions if s.title == vevent.summary.value)
        assert vevent.dtstart.value.astimezone(UTC) == session.starts_at


# --- the private personal feed --------------------------------------------------------------------------------


def _feed_url(registration, scope: FeedScope) -> str:
    feed = services.set_feed(registration, scope)
    return f"/agenda/feed/{feed.token}.ics"


def test_starred_sessions_only_or_the_whole_agenda(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    registration = factories.RegistrationFactory(event=event)
    services.star_session(registration, agenda["activities"].id, True)
    url = _feed_url(registration, FeedScope.STARRED)
    cal, _v = parse(client.get(url).data)
    assert [str(e["SUMMARY"]) for e in events_of(cal)] == ["WeGO activities 2022"]
    assert "my agenda" in str(cal["X-WR-CALNAME"])
    services.set_feed(registration, FeedScope.ALL)
    cal, _v = parse(client.get(url).data)
    assert len(events_of(cal)) == 2


def test_an_online_attendees_feed_carries_personal_join_links_an_in_person_one_does_not(client, agenda) -> None:
    event = agenda["event"]
    agenda["activities"].stream_url = "https://stream.example.org/secret-stream"
    publish(event)
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    in_person = factories.RegistrationFactory(event=event)
    body = client.get(_feed_url(online, FeedScope.ALL)).data
    cal, vcal = parse(body)
    activities = next(e for e in events_of(cal) if str(e["SUMMARY"]) == "WeGO activities 2022")
    join = f"http://127.0.0.1:5000/join/{online.join_token}/sessions/{agenda['activities'].id}"
    assert str(activities["CONFERENCE"]) == join
    assert activities["CONFERENCE"].params["FEATURE"] == "VIDEO"
    assert join in str(activities["DESCRIPTION"])
    assert b"secret-stream" not in body  # the platform's own address only behind the personal link
    vactivities = next(v for v in vcal.vevent_list if v.summary.value == "WeGO activities 2022")
    assert join in vactivities.description.value
    body = client.get(_feed_url(in_person, FeedScope.ALL)).data
    assert b"CONFERENCE" not in body and b"/join/" not in body
    parse(body)


def test_the_session_join_link_records_the_join_and_opens_the_stream(client, agenda) -> None:
    event = agenda["event"]
    agenda["activities"].stream_url = "https://stream.example.org/secret-stream"
    online = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    response = client.get(f"/join/{online.join_token}/sessions/{agenda['activities'].id}")
    assert response.status_code == 302 and response.headers["Location"] == "https://stream.example.org/secret-stream"
    assert online.first_joined_at is not None
    in_person = factories.RegistrationFactory(
        event=event, mode=Mode.ONLINE, status=factories.RegistrationStatus.CANCELLED
    )
    assert client.get(f"/join/{in_person.join_token}/sessions/{agenda['activities'].id}").status_code == 403


def test_a_renewed_or_cancelled_feed_is_404(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    registration = factories.RegistrationFactory(event=event)
    url = _feed_url(registration, FeedScope.ALL)
    assert client.get(url).status_code == 200
    services.renew_feed(registration)
    assert client.get(url).status_code == 404


def test_the_personal_feed_answers_304_until_a_star_changes(client, agenda) -> None:
    event = agenda["event"]
    publish(event)
    registration = factories.RegistrationFactory(event=event)
    url = _feed_url(registration, FeedScope.STARRED)
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    services.star_session(registration, agenda["opening"].id, True)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


# --- fixed query counts ---------------------------------------------------------------------------------------


@contextmanager
def count_queries():
    counted: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            counted.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def big_agenda(sessions: int, speakers: int, rooms: int):
    """An event with ``sessions`` sessions over ``rooms`` rooms, two of ``speakers`` people on each; published."""
    start = datetime(2030, 10, 17, 0, 0, tzinfo=UTC)
    event = factories.EventFactory(timezone="America/Mexico_City", starts_at=start, ends_at=start + timedelta(days=3))
    room_rows = [Room(event_id=event.id, name=f"Room {i}", capacity=100, position=i) for i in range(rooms)]
    people = [
        Person(name=f"Speaker {i}", title="Expert", email=f"speaker{i}@{event.slug}.example.org")
        for i in range(speakers)
    ]
    db.session.add_all(room_rows + people)
    db.session.flush()
    rows = []
    for i in range(sessions):
        slot = start + timedelta(minutes=30 * (i // rooms))
        session = Session(
            event_id=event.id,
            title=f"Session {i}",
            starts_at=slot,
            ends_at=slot + timedelta(minutes=25),
            room_id=room_rows[i % rooms].id,
        )
        session.speakers = [
            SessionSpeaker(person=people[(2 * i) % speakers], role=SpeakerRole.SPEAKER, position=0),
            SessionSpeaker(person=people[(2 * i + 1) % speakers], role=SpeakerRole.MODERATOR, position=1),
        ]
        rows.append(session)
    db.session.add_all(rows)
    db.session.flush()
    publish(event)
    db.session.commit()
    return event


def _queries(client, url: str) -> int:
    db.session.expire_all()
    with count_queries() as counted:
        response = client.get(url)
    assert response.status_code == 200
    return len(counted)


def test_page_and_feed_query_counts_do_not_grow_with_the_agenda(client, app) -> None:
    small, big = big_agenda(30, 15, 8), big_agenda(300, 150, 8)
    counts = {}
    for label, event in (("small", small), ("big", big)):
        counts[label] = (
            _queries(client, f"/events/{event.slug}/agenda"),
            _queries(client, f"/events/{event.slug}/agenda.ics"),
        )
    assert counts["small"] == counts["big"], counts
    page, feed = counts["big"]
    assert page <= 4 and feed <= 4, counts
    html = client.get(f"/events/{big.slug}/agenda").get_data(as_text=True)
    assert html.count('class="agenda-session') == 300
    cal = icalendar.Calendar.from_ical(client.get(f"/events/{big.slug}/agenda.ics").data)
    assert len(events_of(cal)) == 300


def test_personal_feed_query_count_does_not_grow(client, app) -> None:
    counts = []
    for size in (30, 300):
        event = big_agenda(size, size // 2, 8)
        registration = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
        url = _feed_url(registration, FeedScope.ALL)
        db.session.commit()
        counts.append(_queries(client, url))
    assert counts[0] == counts[1] and counts[0] <= 6, counts
