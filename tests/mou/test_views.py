"""MOU pages: who sees what (internal records stay with their event's organizers), the organizer's workflow
through the real forms, the public lists and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from flask import Flask

from eventsys.common.errors import DomainError
from eventsys.extensions import db
from eventsys.mou import services
from eventsys.mou.models import Mou, MouStatus, MouVisibility
from tests import factories
from tests.conftest import Browser
from tests.mou.files import tiny_pdf


@pytest.fixture
def internal(event) -> Mou:
    mou = factories.signed_mou(event, visibility=MouVisibility.INTERNAL, title="Confidential data-sharing MOU")
    mou.internal_notes = "Budget still under negotiation"
    services.attach_document(None, mou, "confidential.pdf", io.BytesIO(tiny_pdf("confidential")))
    db.session.commit()
    return mou


def _urls(mou: Mou) -> list[str]:
    base = f"/events/{mou.event.slug}/mous/{mou.id}"
    return [base, f"{base}/verify", f"{base}/documents/{mou.documents[0].id}"]


def test_an_internal_mou_is_invisible_to_the_public(client, internal: Mou) -> None:
    for url in _urls(internal):
        assert client.get(url).status_code == 404, url
    for url in ("/mous", f"/events/{internal.event.slug}/mous"):
        page = client.get(url).get_data(as_text=True)
        assert "Confidential data-sharing MOU" not in page
    assert client.get(f"/manage/events/{internal.event.slug}/mous.csv").status_code == 302  # to the login page


def test_an_internal_mou_is_invisible_to_another_events_organizers(browser: Browser, internal: Mou) -> None:
    other = factories.organizer_of(factories.EventFactory())
    assert browser.login(other.email).status_code == 302
    for url in _urls(internal):
        assert browser.client.get(url).status_code == 404, url
    slug = internal.event.slug
    assert browser.client.get(f"/manage/events/{slug}/mous/{internal.id}").status_code == 403
    assert browser.client.get(f"/manage/events/{slug}/mous.csv").status_code == 403
    assert browser.client.get(f"/manage/events/{slug}/mous").status_code == 403
    # Nor through their own event's addresses.
    own = other.roles[0].event.slug
    assert browser.client.get(f"/manage/events/{own}/mous/{internal.id}").status_code == 404
    own_csv = browser.client.get(f"/manage/events/{own}/mous.csv").get_data(as_text=True)
    assert "Confidential" not in own_csv


def test_the_events_organizers_see_everything(organizer_client: Browser, internal: Mou) -> None:
    client = organizer_client.client
    for url in _urls(internal):
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
    page = client.get(f"/manage/events/{internal.event.slug}/mous/{internal.id}").get_data(as_text=True)
    assert "Budget still under negotiation" in page
    rows = list(csv.reader(io.StringIO(client.get(f"/manage/events/{internal.event.slug}/mous.csv").data.decode())))
    assert rows[1][0] == "Confidential data-sharing MOU"


def test_internal_notes_never_reach_public_pages(client, event) -> None:
    mou = factories.signed_mou(event, title="Smart City Champions agreement", internal_notes="Secret note")
    db.session.commit()
    for url in ("/mous", f"/events/{event.slug}/mous", f"/events/{event.slug}/mous/{mou.id}"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Smart City Champions agreement" in response.get_data(as_text=True)
        assert "Secret note" not in response.get_data(as_text=True)


def test_drafts_and_mous_of_draft_events_are_not_public(client) -> None:
    draft_event = factories.EventFactory(status=factories.EventStatus.DRAFT)
    hidden = factories.signed_mou(draft_event, title="Not yet announced")
    draft_mou = factories.MouFactory(visibility=MouVisibility.PUBLIC, title="Still a draft")
    db.session.commit()
    assert "Not yet announced" not in client.get("/mous").get_data(as_text=True)
    assert "Still a draft" not in client.get("/mous").get_data(as_text=True)
    assert client.get(f"/events/{draft_event.slug}/mous/{hidden.id}").status_code == 404
    assert client.get(f"/events/{draft_mou.event.slug}/mous/{draft_mou.id}").status_code == 404


def test_csv_export_neutralizes_formulas(organizer_client: Browser, event) -> None:
    factories.signed_mou(event, title='=HYPERLINK("http://evil.example","click")', place="+82 Seoul")
    db.session.commit()
    response = organizer_client.client.get(f"/manage/events/{event.slug}/mous.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[1][6] == "'+82 Seoul"


def test_an_organizer_records_and_signs_an_mou_through_the_pages(organizer_client: Browser, event) -> None:
    wego = factories.OrganizationFactory(name="WeGO Secretariat")
    snu = factories.OrganizationFactory(name="SNU GSPA")
    page = organizer_client.client.get(f"/manage/events/{event.slug}/mous/new")
    assert page.status_code == 200
    response = organizer_client.post(
        f"/manage/events/{event.slug}/mous/new",
        {
            "title": "Smart City Champions partnership",
            "summary": "SNU GSPA partners with WeGO on the Smart City Champions program.",
            "organizations": [str(wego.id), str(snu.id)],
            "place": "Seoul",
            "signing_date": "2022-02-23",
            "visibility": "public",
            "session_id": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    mou = db.session.scalar(sa.select(Mou))
    base = f"/manage/events/{event.slug}/mous/{mou.id}"

    page = organizer_client.client.get(base).get_data(as_text=True)
    assert 'value="signed"' in page and 'value="scheduled"' in page and 'value="expired"' not in page
    refused = organizer_client.post(f"{base}/status", {"status-status": "signed"})
    assert refused.status_code == 400
    assert "Add a signatory for WeGO Secretariat" in refused.get_data(as_text=True)

    for party in mou.parties:
        response = organizer_client.post(
            f"{base}/signatories",
            {"signatory-party_id": str(party.id), "signatory-person_id": "", "signatory-role": "signatory"},
        )
        assert response.status_code == 302
    assert organizer_client.post(f"{base}/status", {"status-status": "signed"}).status_code == 302
    db.session.expire_all()
    assert mou.status is MouStatus.SIGNED
    page = organizer_client.client.get(base).get_data(as_text=True)
    assert 'value="renewed"' in page and 'value="draft"' not in page

    # After signing, a change is an amendment: without a reason it is refused, with one it is in the history.
    person = factories.PersonFactory(name="Siriwan Chaichana", organization=snu)
    db.session.commit()
    fields = {
        "signatory-party_id": str(mou.parties[1].id),
        "signatory-person_id": str(person.id),
        "signatory-role": "witness",
    }
    refused = organizer_client.post(f"{base}/signatories", fields)
    assert refused.status_code == 400
    assert "only through an amendment" in refused.get_data(as_text=True)
    ok = organizer_client.post(f"{base}/signatories", {**fields, "signatory-reason": "Witness omitted at first"})
    assert ok.status_code == 302
    history = organizer_client.client.get(base).get_data(as_text=True).split("data-history", 1)[1]
    assert "Amendment:" in history and "Witness omitted at first" in history and "Siriwan Chaichana" in history


def test_organizer_pages_of_another_events_mou_are_404(organizer_client: Browser, event) -> None:
    elsewhere = factories.signed_mou(factories.EventFactory(), visibility=MouVisibility.INTERNAL)
    db.session.commit()
    assert organizer_client.client.get(f"/manage/events/{event.slug}/mous/{elsewhere.id}").status_code == 404
    response = organizer_client.post(
        f"/manage/events/{event.slug}/mous/{elsewhere.id}/status", {"status-status": "expired"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert elsewhere.status is MouStatus.SIGNED


def test_the_event_pages_link_to_the_mous(organizer_client: Browser, event, app: Flask) -> None:
    factories.signed_mou(event)
    db.session.commit()
    manage = organizer_client.client.get(f"/manage/events/{event.slug}/").get_data(as_text=True)
    assert f"/manage/events/{event.slug}/mous" in manage
    show = organizer_client.client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert f"/events/{event.slug}/mous" in show


def test_the_public_list_links_to_the_signing_ceremony_session(client, event) -> None:
    ceremony = factories.SessionFactory(event=event, title="Signing ceremony: WeGO and Edgelands Institute")
    mou = factories.signed_mou(event, session_id=ceremony.id)
    db.session.commit()
    page = client.get(f"/events/{event.slug}/mous").get_data(as_text=True)
    assert f'href="/events/{event.slug}/agenda/sessions/{ceremony.id}"' in page
    assert "Signing ceremony: WeGO and Edgelands Institute" in page
    assert f"/events/{event.slug}/agenda/sessions/{ceremony.id}" in client.get(
        f"/events/{event.slug}/mous/{mou.id}"
    ).get_data(as_text=True)


def test_a_session_of_another_event_cannot_be_the_ceremony(app: Flask, event) -> None:
    other = factories.SessionFactory()
    mou = factories.MouFactory(event=event)
    data = services.MouData(title=mou.title, session_id=other.id)
    with pytest.raises(DomainError) as refused:
        services.update_mou(None, mou, data)
    assert refused.value.field == "session_id"


def test_a_session_deleted_from_the_draft_is_no_longer_offered_as_the_ceremony(
    organizer_client: Browser, event
) -> None:
    from eventsys.agenda import services as agenda_services

    kept = factories.SessionFactory(event=event, title="Signing ceremony: WeGO and SNU")
    dropped = factories.SessionFactory(event=event, title="Signing ceremony that was called off")
    linked = factories.SessionFactory(event=event, title="Signing ceremony: WeGO and Edgelands Institute")
    mou = factories.signed_mou(event, session_id=linked.id)
    agenda_services.publish_agenda(event, None, agenda_services.draft_digest(event))
    agenda_services.delete_session(dropped)
    agenda_services.delete_session(linked)  # still linked to the MOU until it is published away
    db.session.commit()

    new_form = organizer_client.client.get(f"/manage/events/{event.slug}/mous/new").get_data(as_text=True)
    assert "Signing ceremony: WeGO and SNU" in new_form
    assert "called off" not in new_form
    assert "Edgelands" not in new_form
    # The MOU that names a session deleted from the draft still shows (and keeps) it on its own form.
    edit_form = organizer_client.client.get(f"/manage/events/{event.slug}/mous/{mou.id}/edit").get_data(as_text=True)
    assert "Edgelands" in edit_form
    assert "called off" not in edit_form
    assert kept.title in edit_form
