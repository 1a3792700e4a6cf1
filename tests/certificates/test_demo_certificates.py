"""The demo's certificate of appreciation to the Ambassador of Peru, as the kick-off press release tells it."""

from __future__ import annotations

import sqlalchemy as sa

from eventsys.certificates import services
from eventsys.certificates.models import Certificate, CertificateKind, CertificateTemplate
from eventsys.demo import KICKOFF_SLUG, PERU_CITATION, load_demo
from eventsys.events.models import Event
from eventsys.extensions import db
from tests.certificates.helpers import page_texts


def test_the_ambassador_of_peru_holds_the_certificate_of_appreciation(app, client, tmp_path):
    app.config["CERTIFICATE_IMAGE_DIR"] = str(tmp_path / "images")
    load_demo("demo-password")
    db.session.commit()
    kickoff = db.session.scalar(sa.select(Event).where(Event.slug == KICKOFF_SLUG))
    kinds = set(
        db.session.scalars(sa.select(CertificateTemplate.kind).where(CertificateTemplate.event_id == kickoff.id))
    )
    assert kinds == {CertificateKind.APPRECIATION, CertificateKind.ATTENDANCE}
    (certificate,) = db.session.scalars(sa.select(Certificate))  # no check-ins yet: no attendance certificates
    assert certificate.recipient_name == "Ambassador of Peru"
    assert certificate.citation == PERU_CITATION
    assert certificate.issued_at.astimezone(kickoff.tz).date().isoformat() == "2022-02-23"

    (text,) = page_texts(services.certificate_pdf(certificate))
    assert "Ambassador of Peru" in text and PERU_CITATION in text and "February 23, 2022" in text
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "Valid certificate" in page and "WeGO 2022 Activities Kick-off" in page
