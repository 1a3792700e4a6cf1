"""Queue jobs: a bulk run's merged PDF and ZIP, and a certificate emailed to its recipient with the PDF attached."""

from __future__ import annotations

import logging

from flask_babel import force_locale

from eventsys.certificates import services
from eventsys.certificates.models import Certificate, CertificateRun, RunStatus
from eventsys.common.db import utcnow
from eventsys.common.mail import MailError, render_mail, send_mail
from eventsys.common.tasks import app_task
from eventsys.extensions import db

logger = logging.getLogger(__name__)


@app_task()
def render_certificate_run(run_id: int) -> None:
    """Render one bulk run; a failure is recorded on the run (and re-raised for the worker log)."""
    run = db.session.get(CertificateRun, run_id)
    if run is None or run.status is not RunStatus.QUEUED:
        return
    try:
        services.render_run(run)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        run = db.session.get(CertificateRun, run_id)
        if run is not None:
            run.status = RunStatus.FAILED
            run.error = f"{type(error).__name__}: {error}"[:1000]
            run.finished_at = utcnow()
            db.session.commit()
        raise


@app_task(retries=3, retry_delay=60)
def email_certificate(certificate_id: int) -> None:
    """Send a live certificate to its recipient, the PDF attached, in their registration's language."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not certificate.live or not certificate.person.email:
        return
    template = certificate.template
    language = services.language_for(template.event, certificate.person_id)
    pdf = services.certificate_pdf(certificate)
    with force_locale(language):
        rendered = render_mail(
            "certificate",
            language,
            certificate=certificate,
            cert_template=template,
            event=template.event,
            verify_url=services.verify_url(certificate.code),
        )
    try:
        send_mail(
            (certificate.recipient_name, certificate.person.email),
            rendered.subject,
            rendered.text,
            rendered.html,
            attachments=[(f"certificate-{certificate.code}.pdf", "application/pdf", pdf)],
        )
    except MailError as error:
        if not error.permanent:
            raise
        logger.warning("certificate %s: mail to %s bounced: %s", certificate.id, certificate.person.email, error)
        return
    certificate.emailed_at = utcnow()
    db.session.commit()
