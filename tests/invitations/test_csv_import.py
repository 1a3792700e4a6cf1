"""Importing invitation lists as Excel writes them: encodings, separators, preview, errors and merging."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.events.models import Category
from eventsys.extensions import db
from eventsys.invitations import services
from eventsys.invitations.csv_import import decode_upload, parse_invitation_csv
from eventsys.invitations.models import Invitation, InvitationState
from tests import factories
from tests.invitations.conftest import counts, payload_of, person, upload

KOREAN_CSV = (
    "이름;이메일;소속;직함;구분;언어\r\n"
    "오세훈;mayor@seoul.example.org;서울특별시;서울특별시장;회원도시;ko\r\n"
    "박정숙;Secretary.General@wego.example.org;세계도시전자정부협의체;사무총장;staff;한국어\r\n"
)


def _confirm(browser, event, preview_page: str):
    return browser.post(
        f"/manage/events/{event.slug}/invitations/import/confirm", {"payload": payload_of(preview_page)}
    )


def _invitations(event) -> list[Invitation]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Invitation).where(Invitation.event_id == event.id)))


# --- Reading the file ---------------------------------------------------------------------------------


def test_utf8_with_bom_and_semicolons_is_read_and_named(organizer_client, event) -> None:
    raw = (
        "\ufeffName;Email;Organization;Title;Category;Language\r\n"
        '"Rousset, Alizée";press@wego.example.org;WeGO Secretariat;Press contact;press;es\r\n'
    ).encode()
    response = upload(organizer_client, event, raw)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "UTF-8 with byte-order mark, semicolon-separated" in page
    # The BOM is not part of the first column's name, and a quoted comma stays in the name.
    assert "Rousset, Alizée" in page

    assert _confirm(organizer_client, event, page).status_code == 302
    alizee = person("press@wego.example.org")
    assert alizee is not None and alizee.name == "Rousset, Alizée"
    (invitation,) = _invitations(event)
    assert invitation.category is Category.PRESS and invitation.language == "es"
    assert invitation.state is InvitationState.NOT_SENT


def test_a_korean_cp949_file_is_detected_named_and_hangul_round_trips(organizer_client, event) -> None:
    response = upload(organizer_client, event, KOREAN_CSV.encode("cp949"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Korean (CP949), semicolon-separated" in page
    assert "오세훈" in page and "서울특별시장" in page

    assert _confirm(organizer_client, event, page).status_code == 302
    mayor = person("mayor@seoul.example.org")
    assert mayor is not None
    assert mayor.name == "오세훈"
    assert mayor.title == "서울특별시장"
    assert mayor.organization is not None and mayor.organization.name == "서울특별시"
    # The email is stored lower-cased; the Korean category and language names were understood.
    secretary = person("secretary.general@wego.example.org")
    assert secretary is not None and secretary.name == "박정숙"
    by_email = {i.person.email: i for i in _invitations(event)}
    assert by_email["mayor@seoul.example.org"].category is Category.MEMBER_CITY
    assert by_email["secretary.general@wego.example.org"].language == "ko"


def test_a_windows_1252_file_with_accents_is_detected(organizer_client, event) -> None:
    raw = "name,email,organization,title,category\nAlizée Rousset,alizee@wego.example.org,Secrétariat,Presse,press\n"
    response = upload(organizer_client, event, raw.encode("cp1252"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Western European (Windows-1252), comma-separated" in page
    assert _confirm(organizer_client, event, page).status_code == 302
    assert person("alizee@wego.example.org").name == "Alizée Rousset"


def test_western_text_that_is_also_valid_cp949_is_not_read_as_korean() -> None:
    raw = "name,email,category\nÁngel Ortiz,angel@example.org,press\nÄsa Åberg,asa@example.org,press\n".encode("cp1252")
    raw.decode("cp949")  # the trap: these bytes are valid CP949 too (as rare Hangul syllables)
    text, encoding = decode_upload(raw)
    assert encoding == "cp1252"
    assert "Ángel Ortiz" in text and "Äsa Åberg" in text


def test_tab_separated_utf16_from_excel_unicode_text_is_read() -> None:
    raw = "name\temail\tcategory\n오세훈\tmayor@seoul.example.org\tmember_city\n".encode("utf-16")
    parsed = parse_invitation_csv(raw)
    assert parsed.description == "Unicode (UTF-16), tab-separated"
    assert parsed.rows[0].name == "오세훈"


# --- Errors -------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_per_row_and_nothing_is_imported(organizer_client, event, db) -> None:
    raw = (
        b"name,email,category,language\n"
        b"Good Person,good@example.org,partner,en\n"
        b",noname@example.org,partner,en\n"
        b"Bad Email,not-an-email,partner,en\n"
        b"Bad Category,cat@example.org,royalty,en\n"
        b"Bad Language,lang@example.org,partner,fr\n"
    )
    before = counts()
    response = upload(organizer_client, event, raw)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "4 rows have errors" in page
    assert "The name is missing." in page
    assert "“not-an-email” is not a valid email address." in page
    assert "Unknown category “royalty”" in page
    assert "Unknown language “fr”" in page
    for line in (3, 4, 5, 6):
        assert f'data-line="{line}" data-action="error"' in page
    assert 'data-line="2" data-action="new_person"' in page
    assert 'name="payload"' not in page  # no way to confirm a file with errors
    assert counts() == before

    parsed = parse_invitation_csv(raw)
    try:
        services.import_rows(event, parsed, None)
    except services.DomainError as error:
        assert error.code == "rows_invalid"
    else:
        raise AssertionError("a file with bad rows must be refused")
    assert counts() == before


def test_missing_required_columns_are_named(organizer_client, event) -> None:
    response = upload(organizer_client, event, b"name,mail address\nX,x@example.org\n")
    assert response.status_code == 400
    assert "Missing: email, category" in response.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused(organizer_client, event) -> None:
    raw = b"name,email,category\n" + b"x" * (2 * 1024 * 1024)
    before = counts()
    response = upload(organizer_client, event, raw)
    assert response.status_code == 413
    assert "The file is too large (at most 2 MB)." in response.get_data(as_text=True)
    assert counts() == before


def test_binary_files_are_refused_with_a_message(organizer_client, event) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    response = upload(organizer_client, event, png, "photo.csv")
    assert response.status_code == 400
    assert "This file is not a text (CSV) file." in response.get_data(as_text=True)

    xlsx = b"PK\x03\x04" + b"\x00" * 200
    response = upload(organizer_client, event, xlsx, "list.xlsx")
    assert response.status_code == 400
    assert "This is a spreadsheet workbook, not a CSV file." in response.get_data(as_text=True)

    response = upload(organizer_client, event, b"name,email,category\n\x00\x01\x02\x03", "list.csv")
    assert response.status_code == 400


def test_a_tampered_or_foreign_preview_is_refused(organizer_client, organizer, event, db) -> None:
    page = upload(organizer_client, event, b"name,email,category\nA,a@example.org,press\n").get_data(as_text=True)
    payload = payload_of(page)
    url = f"/manage/events/{event.slug}/invitations/import/confirm"
    before = counts()
    response = organizer_client.post(url, {"payload": payload[:-3] + "AAA"})
    assert response.status_code == 400
    assert "This preview has expired or is not valid." in response.get_data(as_text=True)
    # The same payload for another event the organizer also runs: the signature names the event.
    other = factories.EventFactory()
    factories.EventRoleFactory(event=other, user=organizer, role=factories.Role.ORGANIZER)
    response = organizer_client.post(f"/manage/events/{other.slug}/invitations/import/confirm", {"payload": payload})
    assert response.status_code == 400
    assert counts() == before
    # The genuine payload for the right event still works.
    assert organizer_client.post(url, {"payload": payload}).status_code == 302
    assert counts()["Invitation"] == before["Invitation"] + 1


# --- Preview and merging ------------------------------------------------------------------------------


def test_the_preview_writes_nothing_and_shows_every_row(organizer_client, event) -> None:
    raw = "name,email,category\n" + "".join(f"Person {n},p{n}@example.org,youth\n" for n in range(40))
    before = counts()
    response = upload(organizer_client, event, raw.encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('data-action="new_person"') == 40
    assert "40 invitations will be added" in page
    assert counts() == before


def test_duplicates_are_merged_within_the_file_and_with_existing_people(organizer_client, event, db) -> None:
    known = factories.PersonFactory(name="Ambassador of Peru", email="ambassador.peru@embassy.example.org", title=None)
    already = factories.PersonFactory(email="already@example.org")
    factories.InvitationFactory(event=event, person=already, state=InvitationState.SENT, category=Category.PARTNER)
    db.session.commit()  # (into the test's transaction) so the rows survive a rollback in a view
    raw = (
        b"name,email,title,category\n"
        b"New Person,new@example.org,,youth\n"
        b"New Person again,NEW@Example.org,Delegate,youth\n"
        b"Peru,Ambassador.Peru@embassy.example.org,Ambassador of Peru to the Republic of Korea,embassy\n"
        b"Already,already@example.org,,press\n"
    )
    page = upload(organizer_client, event, raw).get_data(as_text=True)
    assert 'data-line="2" data-action="new_person"' in page
    assert 'data-line="3" data-action="duplicate_in_file"' in page
    assert "Same email as line 2" in page
    assert 'data-line="4" data-action="existing_person"' in page
    assert 'data-line="5" data-action="invitation_exists"' in page
    people_before = counts()["Person"]

    assert _confirm(organizer_client, event, page).status_code == 302
    assert counts()["Person"] == people_before + 1  # only new@example.org is new
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(sa.func.lower(factories.Person.email) == "new@example.org"))
        == 1
    )
    newcomer = person("new@example.org")
    assert newcomer.name == "New Person" and newcomer.title == "Delegate"  # the repeat filled in the title
    db.session.refresh(known)
    assert known.name == "Ambassador of Peru"  # an existing person keeps their name
    assert known.title == "Ambassador of Peru to the Republic of Korea"  # an empty title is filled in
    by_email = {i.person.email: i for i in _invitations(event)}
    assert set(by_email) == {"new@example.org", "ambassador.peru@embassy.example.org", "already@example.org"}
    assert by_email["already@example.org"].category is Category.PARTNER  # the existing invitation is untouched

    # Importing the same file again adds nothing.
    page = upload(organizer_client, event, raw).get_data(as_text=True)
    assert "0 invitations will be added" in page
