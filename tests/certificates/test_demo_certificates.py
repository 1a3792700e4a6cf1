"""The demo's certificates, as the kick-off press release tells it: the certificate of appreciation to the Ambassador
of Peru, and attendance certificates for exactly the people checked in at the door."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eventsys.certificates import services
from eventsys.certificates.models import Certificate, CertificateKind, CertificateRun, CertificateTemplate, RunStatus
from eventsys.checkin.models import Badge, CheckIn, CheckInList
from eventsys.demo import EMBASSIES, KICKOFF_SLUG, PERU_CITATION, ambassador_email, load_demo
from eventsys.events.models import Event, Person
from eventsys.extensions import db
from eventsys.registration.models import Registration
from tests.certificates.helpers import page_texts
from tests.conftest import Browser

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def demo(app, tmp_path) -> dict[str, str]:
    app.config["CERTIFICATE_IMAGE_DIR"] = str(tmp_path / "images")
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")
    app.config["CERTIFICATE_PROCESSES"] = 1
    logins = load_demo("demo-password")
    db.session.commit()  # the bulk run renders after the commit (tasks run eagerly in tests)
    return logins


def _kickoff() -> Event:
    return db.session.scalar(sa.select(Event).where(Event.slug == KICKOFF_SLUG))


def _certificates(kind: CertificateKind) -> list[Certificate]:
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .join(CertificateTemplate, CertificateTemplate.id == Certificate.template_id)
            .where(CertificateTemplate.kind == kind)
        )
    )


def test_the_ambassador_of_peru_holds_the_certificate_of_appreciation(demo, client):
    kickoff = _kickoff()
    kinds = set(
        db.session.scalars(sa.select(CertificateTemplate.kind).where(CertificateTemplate.event_id == kickoff.id))
    )
    assert kinds == {CertificateKind.APPRECIATION, CertificateKind.ATTENDANCE}
    (certificate,) = _certificates(CertificateKind.APPRECIATION)
    assert certificate.recipient_name == "Ambassador of Peru"
    assert certificate.citation == PERU_CITATION
    assert certificate.issued_at.astimezone(kickoff.tz).date().isoformat() == "2022-02-23"

    (text,) = page_texts(services.certificate_pdf(certificate))
    assert "Ambassador of Peru" in text and PERU_CITATION in text
    # The ambassador registered in Spanish, but the certificate's texts are English: the labels and the date
    # follow the template's language, so the certificate reads in one language (as in the merged PDF).
    assert "Certificate code" in text and "February" in text
    assert "febrero" not in text and "Código" not in text
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "Valid certificate" in page and "WeGO 2022 Activities Kick-off" in page


def _checked_in(kickoff: Event) -> list[tuple[Person, CheckIn]]:
    rows = db.session.execute(
        sa.select(Person, CheckIn)
        .join(Registration, Registration.person_id == Person.id)
        .join(Badge, Badge.registration_id == Registration.id)
        .join(CheckIn, CheckIn.badge_id == Badge.id)
        .join(CheckInList, CheckInList.id == CheckIn.list_id)
        .where(CheckInList.event_id == kickoff.id, CheckIn.annulled_at.is_(None))
    )
    return [(person, entry) for person, entry in rows]


def test_the_ten_ambassadors_checked_in_on_the_kickoff_day_and_got_attendance_certificates(demo, client) -> None:
    kickoff = _kickoff()
    checked_in = _checked_in(kickoff)
    # The ten ambassadors of the press release, each checked in once, at the door before the 14:00 start.
    assert sorted(person.email for person, _entry in checked_in) == sorted(ambassador_email(c) for c, _ in EMBASSIES)
    for _person, entry in checked_in:
        local = entry.scanned_at.astimezone(SEOUL)
        assert local.date().isoformat() == "2022-02-23"
        assert time(13, 0) <= local.time() < time(14, 0)
        assert entry.door == "Main entrance" and entry.checkin_list.day.isoformat() == "2022-02-23"

    attendance = _certificates(CertificateKind.ATTENDANCE)
    # Exactly the checked-in people: the online participants (registered, some joined) hold none.
    assert sorted(c.person_id for c in attendance) == sorted(person.id for person, _entry in checked_in)
    assert len(attendance) == 10
    online = db.session.scalars(sa.select(Person).where(Person.email.like("online.participant%"))).all()
    assert online and not {p.id for p in online} & {c.person_id for c in attendance}
    for certificate in attendance:
        assert certificate.live
        assert certificate.issued_at.astimezone(SEOUL).date().isoformat() == "2022-02-24"  # the morning after
        page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
        assert "Valid certificate" in page and certificate.recipient_name in page
        assert "WeGO 2022 Activities Kick-off" in page

    # One bulk run from the day list, rendered into a merged PDF of ten pages.
    (run,) = db.session.scalars(sa.select(CertificateRun).where(CertificateRun.event_id == kickoff.id))
    assert run.status is RunStatus.DONE and run.issued == 10 and run.list_id == checked_in[0][1].list_id
    texts = page_texts(services.run_path(run, "pdf").read_bytes())
    assert len(texts) == 10
    assert any("Chief of Mission of Ecuador" in text and "CERTIFICATE OF ATTENDANCE" in text.upper() for text in texts)


def test_the_organizer_sees_the_attendance_certificates(demo, browser: Browser) -> None:
    assert browser.login("organizer@wego.example.org", demo["organizer@wego.example.org"]).status_code == 302
    page = browser.client.get(f"/manage/events/{KICKOFF_SLUG}/certificates").get_data(as_text=True)
    for certificate in _certificates(CertificateKind.ATTENDANCE):
        assert certificate.recipient_name in page and certificate.code in page
    assert "Merged PDF" in page
