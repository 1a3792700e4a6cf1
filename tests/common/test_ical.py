"""Calendar files: parsed back by icalendar and by vobject (an independent parser), DST, escaping and folding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from flask import Flask

from eventsys.common import ical

ORGANIZER = ("WeGO Secretariat", "secretariat@example.org")
ATTENDEE = ("김민준", "minjun@example.org")


def entry(**changes: object) -> ical.CalendarEntry:
    values: dict[str, object] = {
        "uid": "registration-7@events.example.org",
        "summary": "WeGO 2022 Activities Kick-off",
        "starts_at": datetime(2022, 3, 2, 1, 0, tzinfo=UTC),
        "ends_at": datetime(2022, 3, 2, 4, 0, tzinfo=UTC),
        "timezone": "Asia/Seoul",
        "location": "Seoul City Hall, 110 Sejong-daero",
        "organizer": ORGANIZER,
        "attendee": ATTENDEE,
    }
    values.update(changes)
    return ical.CalendarEntry(**values)  # type: ignore[arg-type]


def ics_for(*entries: ical.CalendarEntry, method: str = ical.REQUEST, name: str | None = "Kick-off") -> bytes:
    return ical.to_ics(ical.build_calendar(entries, method=method, name=name, now=datetime(2022, 2, 1, tzinfo=UTC)))


def parse_both(data: bytes) -> tuple[icalendar.Calendar, vobject.base.Component]:
    return icalendar.Calendar.from_ical(data), vobject.readOne(data.decode("utf-8"))


def test_request_has_what_clients_need(app: Flask) -> None:
    data = ics_for(entry())
    calendar, other = parse_both(data)

    assert calendar["METHOD"] == "REQUEST"
    assert calendar["NAME"] == "Kick-off" and calendar["X-WR-CALNAME"] == "Kick-off"
    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == "Asia/Seoul"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == "registration-7@events.example.org"
    assert event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "Asia/Seoul"
    assert event.decoded("DTSTART") == datetime(2022, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    assert event.decoded("DTSTAMP") == datetime(2022, 2, 1, tzinfo=UTC)
    assert b"DTSTAMP:20220201T000000Z\r\n" in data
    assert str(event["ORGANIZER"]) == "mailto:secretariat@example.org"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:minjun@example.org"
    assert attendee.params["RSVP"] == "TRUE" and attendee.params["CN"] == "김민준"
    assert event["STATUS"] == "CONFIRMED"

    assert other.method.value == "REQUEST"
    vevent = other.vevent
    assert vevent.uid.value == "registration-7@events.example.org"
    assert vevent.dtstart.value.astimezone(UTC) == datetime(2022, 3, 2, 1, 0, tzinfo=UTC)
    assert vevent.attendee.params["RSVP"] == ["TRUE"]


def test_cancel_keeps_the_uid_with_a_higher_sequence(app: Flask) -> None:
    request = icalendar.Calendar.from_ical(ics_for(entry(sequence=1)))
    cancel_data = ics_for(entry(sequence=2), method=ical.CANCEL)
    cancel, other = parse_both(cancel_data)
    [before], [after] = request.walk("VEVENT"), cancel.walk("VEVENT")
    assert cancel["METHOD"] == "CANCEL" and other.method.value == "CANCEL"
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["STATUS"] == "CANCELLED"
    assert "RSVP" not in after["ATTENDEE"].params


def test_publish_needs_no_attendee_but_request_does(app: Flask) -> None:
    calendar = icalendar.Calendar.from_ical(ics_for(entry(attendee=None, organizer=None), method=ical.PUBLISH))
    assert calendar["METHOD"] == "PUBLISH"
    with pytest.raises(ValueError, match="ATTENDEE"):
        ics_for(entry(attendee=None))


@pytest.mark.parametrize(
    ("zone", "local_start", "local_end", "utc_start", "hours"),
    [
        # Mexico City still had summer time in April 2022 (UTC-5) and abolished it in October 2022 (UTC-6 after).
        ("America/Mexico_City", datetime(2022, 4, 5, 9), datetime(2022, 4, 5, 18), datetime(2022, 4, 5, 14), 9),
        ("America/Mexico_City", datetime(2023, 4, 5, 9), datetime(2023, 4, 5, 18), datetime(2023, 4, 5, 15), 9),
        # Berlin springs forward on 27 March 2022: 10:00 CET to 10:00 CEST the next day is 23 hours.
        ("Europe/Berlin", datetime(2022, 3, 26, 10), datetime(2022, 3, 27, 10), datetime(2022, 3, 26, 9), 23),
        # ...and falls back on 30 October 2022: 25 hours.
        ("Europe/Berlin", datetime(2022, 10, 29, 10), datetime(2022, 10, 30, 10), datetime(2022, 10, 29, 8), 25),
    ],
)
def test_times_survive_daylight_saving_changes(
    app: Flask, zone: str, local_start: datetime, local_end: datetime, utc_start: datetime, hours: int
) -> None:
    tz = ZoneInfo(zone)
    starts, ends = local_start.replace(tzinfo=tz), local_end.replace(tzinfo=tz)
    data = ics_for(entry(timezone=zone, starts_at=starts.astimezone(UTC), ends_at=ends.astimezone(UTC)))
    calendar, other = parse_both(data)

    assert {tz_component["TZID"] for tz_component in calendar.walk("VTIMEZONE")} == {zone}
    local_line = f"DTSTART;TZID={zone}:{local_start:%Y%m%dT%H%M%S}\r\n".encode()
    assert local_line in data
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(UTC) == utc_start.replace(tzinfo=UTC)
    # (Subtracting two datetimes of one zone gives wall-clock time; compare in UTC.)
    assert event.decoded("DTEND").astimezone(UTC) - event.decoded("DTSTART").astimezone(UTC) == timedelta(hours=hours)
    # vobject builds its time zone from our VTIMEZONE, not from its own database: this checks the VTIMEZONE.
    vevent = other.vevent
    assert vevent.dtstart.value.astimezone(UTC) == utc_start.replace(tzinfo=UTC)
    assert vevent.dtend.value.astimezone(UTC) - vevent.dtstart.value.astimezone(UTC) == timedelta(hours=hours)


def test_text_is_escaped_and_comes_back_intact(app: Flask) -> None:
    summary = "Kick-off; Seoul, 2022 \\ day one"
    description = "Line one, with a comma\nLine two; with a semicolon\n\nJoin: https://example.org/join/abc?x=1,2"
    data = ics_for(entry(summary=summary, description=description, location="Hall A, Floor 3; Seoul"))
    assert b"SUMMARY:Kick-off\\; Seoul\\, 2022 \\\\ day one\r\n" in data
    calendar, other = parse_both(data)
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == summary
    assert str(event["DESCRIPTION"]) == description
    assert str(event["LOCATION"]) == "Hall A, Floor 3; Seoul"
    assert other.vevent.summary.value == summary
    assert other.vevent.description.value == description


def test_long_hangul_lines_are_folded_at_75_octets_on_character_boundaries(app: Flask) -> None:
    description = "서울특별시청에서 열리는 세계전자정부협의체 활동 개시 행사에 오신 것을 환영합니다. " * 6
    data = ics_for(entry(description=description, summary="세계전자정부협의체 " * 8))

    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, no bare LF
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    for line in lines:
        assert len(line) <= 75, line
        line.decode("utf-8")  # no multi-byte character split across lines
        assert line.strip() != b"", "an empty or blank continuation line"
    assert sum(1 for line in lines if line.startswith(b" ")) > 5  # long lines really were folded
    calendar, other = parse_both(data)
    assert str(calendar.walk("VEVENT")[0]["DESCRIPTION"]) == description
    assert other.vevent.description.value == description


def test_conference_link_goes_in_conference_description_and_url(app: Flask) -> None:
    join = "https://events.example.org/join/tok123"
    data = ics_for(entry(conference_url=join, conference_label="Join online", url=join, description=f"Join: {join}"))
    calendar, other = parse_both(data)
    [event] = calendar.walk("VEVENT")
    assert str(event["CONFERENCE"]) == join
    assert event["CONFERENCE"].params["FEATURE"] == "VIDEO"
    assert event["CONFERENCE"].params["VALUE"] == "URI"
    assert str(event["URL"]) == join
    assert other.vevent.url.value == join


def test_uid_host_comes_from_the_base_url(app: Flask) -> None:
    app.config.update(SERVER_NAME=None, BASE_URL="https://events.wego.example:8443/")
    assert ical.make_uid("registration", 42) == "registration-42@events.wego.example"
    app.config.update(SERVER_NAME="eventsys.example.org")
    assert ical.make_uid("session", 3) == "session-3@eventsys.example.org"


def test_naive_times_are_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ics_for(entry(starts_at=datetime(2022, 3, 2, 10), ends_at=datetime(2022, 3, 2, 12)))
