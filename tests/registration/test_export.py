"""The CSV export opens in Excel as UTF-8 text, never as formulas, and follows the list's filters."""

from __future__ import annotations

import csv
import io

import pytest

from eventsys.registration.export import neutralize
from eventsys.registration.models import Mode
from tests import factories

BOM = b"\xef\xbb\xbf"


def _export(browser, event, **params: str) -> tuple[bytes, list[list[str]]]:  # type: ignore[no-untyped-def]
    response = browser.client.get(f"/manage/events/{event.slug}/registrations.csv", query_string=params)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="registrations-{event.slug}.csv"'
    body = response.get_data()
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_export_is_utf8_with_a_bom_comma_separated_with_crlf(organizer_client, event) -> None:
    person = factories.PersonFactory(
        name="오세훈", email="mayor@seoul.go.kr", organization=factories.OrganizationFactory(name="서울특별시")
    )
    factories.RegistrationFactory(event=event, person=person, dietary_needs="Sin gluten, por favor")
    body, rows = _export(organizer_client, event)
    assert body.startswith(BOM)
    assert body.count(BOM) == 1
    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    header, row = rows
    assert header[:4] == ["Name", "Email", "Organization", "Title"]
    assert f"Registered ({event.timezone})" in header
    assert row[:3] == ["오세훈", "mayor@seoul.go.kr", "서울특별시"]
    assert row[4:6] == ["In person", "Confirmed"]
    assert "Sin gluten, por favor" in row  # the comma stays inside its quoted cell
    assert len(row) == len(header)


def test_cells_that_look_like_formulas_open_as_text(organizer_client, event) -> None:
    person = factories.PersonFactory(
        name='=HYPERLINK("http://x","y")',
        email="formula@example.org",
        title="-2",
        organization=factories.OrganizationFactory(name="+1"),
    )
    factories.RegistrationFactory(event=event, person=person, dietary_needs="@SUM(A1)", accessibility_needs="\tTabbed")
    _body, (_header, row) = _export(organizer_client, event)
    assert row[0] == '\'=HYPERLINK("http://x","y")'
    assert row[2] == "'+1"
    assert row[3] == "'-2"
    assert row[7] == "'@SUM(A1)"
    assert row[8] == "'\tTabbed"
    assert row[1] == "formula@example.org"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("Kim -2", "Kim -2"),
        ("", ""),
        (None, ""),
    ],
)
def test_neutralize(value: str | None, expected: str) -> None:
    assert neutralize(value) == expected


def test_the_export_follows_the_filters(organizer_client, event) -> None:
    factories.RegistrationFactory(event=event, person=factories.PersonFactory(name="In Person Guest"))
    factories.RegistrationFactory(event=event, mode=Mode.ONLINE, person=factories.PersonFactory(name="Online Guest"))
    _body, rows = _export(organizer_client, event, mode="online")
    assert [row[0] for row in rows[1:]] == ["Online Guest"]
    assert f'href="/manage/events/{event.slug}/registrations.csv?mode=online"' in organizer_client.client.get(
        f"/manage/events/{event.slug}/registrations?mode=online&q="
    ).get_data(as_text=True)
